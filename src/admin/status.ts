import type { Config } from '../config/schema';
import type { Ownership, Verdict } from '../core/types';

/** The live readings the status is made of, as the agent's parts report them. */
export interface StatusReadings {
  readonly ownership: Ownership | null;
  readonly isOwner: boolean;
  readonly registered: boolean;
  readonly appHealthy: boolean;
  readonly drachtioConnected: boolean;
  readonly store: { readonly kind: 'memory' | 'redis'; readonly reachable: boolean };
  readonly peerHeartbeatAgeSec: number | null;
  /** Pair settings that differ from the peer's; null when not compared yet. */
  readonly settingsDrift: readonly string[] | null;
  readonly activeCalls: number;
  readonly verdict: Verdict | null;
}

/** Everything an operator wants to see at 3 a.m., in one JSON document. */
export function statusOf(cfg: Config, r: StatusReadings) {
  return {
    node: cfg.node.id,
    role: cfg.node.role,
    mode: cfg.mode,
    peer: cfg.peer?.id ?? null,
    owner: r.ownership?.owner ?? null,
    epoch: r.ownership?.epoch ?? null,
    isOwner: r.isOwner,
    registered: r.registered,
    appHealthy: r.appHealthy,
    drachtioConnected: r.drachtioConnected,
    store: r.store,
    peerHeartbeatAgeSec: r.peerHeartbeatAgeSec,
    settingsDrift: r.settingsDrift,
    activeCalls: r.activeCalls,
    channels: cfg.app.channels,
    lastVerdict: r.verdict && {
      kind: r.verdict.kind,
      heartbeat: r.verdict.heartbeat,
      decidedAt: new Date(r.verdict.sip.decidedAt).toISOString(),
      probes: r.verdict.sip.probes,
    },
  };
}

export type Status = ReturnType<typeof statusOf>;
