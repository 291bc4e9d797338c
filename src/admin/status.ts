import type { Agent } from '../agent';

/** Everything an operator wants to see at 3 a.m., in one JSON document. */
export function statusOf(agent: Agent) {
  const cfg = agent.config;
  const own = agent.failover.ownership;
  const verdict = agent.failover.verdict;
  return {
    node: cfg.node.id,
    role: cfg.node.role,
    mode: cfg.mode,
    peer: cfg.peer?.id ?? null,
    owner: own?.owner ?? null,
    epoch: own?.epoch ?? null,
    isOwner: agent.failover.isOwner(),
    registered: agent.registration.registered,
    appHealthy: agent.appHealth.isHealthy,
    drachtioConnected: agent.connection.connected,
    store: { kind: agent.store.kind, reachable: agent.store.isReachable() },
    peerHeartbeatAgeSec: agent.failover.peerHeartbeatAgeSec,
    activeCalls: agent.gate.inUse,
    channels: cfg.app.channels,
    lastVerdict: verdict && {
      kind: verdict.kind,
      heartbeat: verdict.heartbeat,
      decidedAt: new Date(verdict.sip.decidedAt).toISOString(),
      probes: verdict.sip.probes,
    },
  };
}

export type Status = ReturnType<typeof statusOf>;
