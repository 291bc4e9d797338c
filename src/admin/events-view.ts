import type { ProbeResult, TransitionEvent } from '../core/types';

/** How many transitions one `events` request may read: the stream keeps thousands, a terminal wants dozens. */
export const MAX_EVENTS_READ = 1000;
export const DEFAULT_EVENTS_READ = 50;

/**
 * `--since` as an operator types it: a duration back from now (`90s`, `15m`,
 * `2h`, `1d`) or an ISO time. Returns ms since the epoch, or null when unreadable.
 */
export function parseSince(text: string, now: number): number | null {
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (m) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
    return now - Number(m[1]) * unit;
  }
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : at;
}

interface EvidenceShape {
  readonly kind: string;
  readonly heartbeat: string;
  readonly sip: { readonly probes: readonly ProbeResult[] };
}

/** Takeovers and rollbacks carry the verdict that caused them; other kinds carry nothing. */
function isVerdictEvidence(e: unknown): e is EvidenceShape {
  if (typeof e !== 'object' || e === null) return false;
  const v = e as Record<string, unknown>;
  const sip = v.sip as Record<string, unknown> | undefined;
  return typeof v.kind === 'string' && typeof v.heartbeat === 'string' && typeof sip === 'object' && sip !== null && Array.isArray(sip.probes);
}

export function describeProbes(probes: readonly ProbeResult[]): string {
  return probes.map((p) => `#${p.attempt} ${p.outcome}${p.status ? ` ${p.status}` : ''} ${p.rttMs} ms`).join(', ');
}

function describeEvidence(e: unknown): string {
  if (e === undefined) return '';
  if (!isVerdictEvidence(e)) return `evidence ${JSON.stringify(e)}`;
  return `verdict ${e.kind}, heartbeat ${e.heartbeat}; probes ${describeProbes(e.sip.probes)}`;
}

/** One line per transition, oldest first, as an operator reads a history: when, what, who, why. */
export function formatEvents(events: readonly TransitionEvent[]): string {
  if (events.length === 0) return 'no transitions recorded';
  return events
    .map((e) => {
      const head = `${new Date(e.at).toISOString()}  ${e.kind.padEnd(10)} ${e.from ?? '-'} -> ${e.to}  epoch ${e.epoch}  by ${e.by}: ${e.reason}`;
      const evidence = describeEvidence(e.evidence);
      return evidence ? `${head}\n${' '.repeat(26)}${evidence}` : head;
    })
    .join('\n');
}
