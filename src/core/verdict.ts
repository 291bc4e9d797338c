import type { Heartbeat, HeartbeatEvidence, SipVerdict, Verdict } from './types';

/** Reads a heartbeat as evidence. `unreadable`: the store could not be asked. */
export function heartbeatEvidence(hb: Heartbeat | null | 'unreadable', now: number, staleAfterMs: number): HeartbeatEvidence {
  if (hb === 'unreadable') return 'unknown';
  if (hb === null) return 'absent';
  if (now - hb.at > staleAfterMs) return 'stale';
  return hb.status === 'healthy' ? 'fresh-healthy' : 'fresh-unhealthy';
}

/**
 * The owner is dead only when both signals agree. A fresh, healthy heartbeat
 * while our probes go unanswered means the two nodes cannot see each other but
 * the owner still writes to the store and serves the IPBX: a network split,
 * where a takeover would leave two nodes registered.
 * When the store cannot be read the SIP path decides alone.
 */
export function judge(sip: SipVerdict, heartbeat: HeartbeatEvidence): Verdict {
  if (sip.alive) return { kind: 'alive', sip, heartbeat };
  if (heartbeat === 'fresh-healthy') return { kind: 'split', sip, heartbeat };
  return { kind: 'dead', sip, heartbeat };
}
