import { describeProbes } from './events-view';
import type { Status } from './status';

export class AdminUnreachable extends Error {}

export interface AdminReply {
  readonly httpStatus: number;
  readonly body: Record<string, unknown>;
}

/** One call to a running agent's admin API. */
export async function callAdmin(baseUrl: string, method: 'GET' | 'POST', path: string, token?: string): Promise<AdminReply> {
  let res: Response;
  try {
    res = await fetch(new URL(path, baseUrl), {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new AdminUnreachable(`cannot reach the admin API at ${baseUrl}: ${cause}`);
  }
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { message: text };
  }
  return { httpStatus: res.status, body };
}

/** What the agent said: its message, or its error, or the raw body. */
export function replyMessage(r: AdminReply): string {
  const { message, error } = r.body;
  return typeof message === 'string' ? message : typeof error === 'string' ? error : JSON.stringify(r.body);
}

function settingsLine(drift: readonly string[] | null): string {
  if (drift === null) return 'not compared yet (no heartbeat from the peer with its settings)';
  return drift.length === 0 ? 'same as the peer' : `DIFFER FROM THE PEER: ${drift.join(', ')}`;
}

/** The status as an operator reads it under stress: the answer first, details after. */
export function formatStatus(s: Status): string {
  const yes = (b: boolean) => (b ? 'yes' : 'NO');
  const lines = [
    `node        ${s.node} (${s.role}, mode ${s.mode})`,
    `owner       ${s.owner ?? 'unknown'} at epoch ${s.epoch ?? '?'}${s.isOwner ? '  <- this node' : ''}`,
    `registered  ${yes(s.registered)}${s.isOwner && !s.registered ? '  (owner but not registered: check the IPBX)' : ''}`,
    `local app   ${s.appHealthy ? 'healthy' : 'NOT ANSWERING'}`,
    `drachtio    ${s.drachtioConnected ? 'connected' : 'DISCONNECTED'}`,
    `store       ${s.store.kind}${s.store.reachable ? '' : ' UNREACHABLE'}`,
    s.peer === null
      ? 'peer        none (single-node mode)'
      : `peer        ${s.peer}, heartbeat ${s.peerHeartbeatAgeSec === null ? 'absent' : `${s.peerHeartbeatAgeSec.toFixed(1)} s old`}`,
    `calls       ${s.activeCalls} / ${s.channels} channels`,
  ];
  if (s.peer !== null) lines.push(`settings    ${settingsLine(s.settingsDrift)}`);
  if (s.lastVerdict) {
    lines.push(`last check  owner ${s.lastVerdict.kind} at ${s.lastVerdict.decidedAt} (heartbeat ${s.lastVerdict.heartbeat}; ${describeProbes(s.lastVerdict.probes)})`);
  }
  return lines.join('\n');
}
