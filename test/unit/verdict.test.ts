import t from 'tap';
import { epoch, type Heartbeat, type HeartbeatEvidence, type HealthStatus, type SipVerdict } from '../../src/core/types';
import { heartbeatEvidence, judge } from '../../src/core/verdict';

const NOW = 1_700_000_000_000;
const STALE_AFTER = 15_000;

function heartbeat(ageMs: number, status: HealthStatus = 'healthy'): Heartbeat {
  return { node: 'node-a', status, at: NOW - ageMs, epochSeen: epoch(3) };
}

t.test('heartbeatEvidence', async (t) => {
  const cases: ReadonlyArray<readonly [string, Heartbeat | null | 'unreadable', HeartbeatEvidence]> = [
    ['store unreadable', 'unreadable', 'unknown'],
    ['never written or expired', null, 'absent'],
    ['written just now, healthy', heartbeat(0), 'fresh-healthy'],
    ['written just now, unhealthy', heartbeat(0, 'unhealthy'), 'fresh-unhealthy'],
    ['exactly staleAfterMs old, healthy', heartbeat(STALE_AFTER), 'fresh-healthy'],
    ['exactly staleAfterMs old, unhealthy', heartbeat(STALE_AFTER, 'unhealthy'), 'fresh-unhealthy'],
    ['one ms past staleAfterMs, healthy', heartbeat(STALE_AFTER + 1), 'stale'],
    ['one ms past staleAfterMs, unhealthy', heartbeat(STALE_AFTER + 1, 'unhealthy'), 'stale'],
    ['hours old', heartbeat(3_600_000), 'stale'],
    ['from the future (clock skew)', heartbeat(-5_000), 'fresh-healthy'],
  ];
  for (const [name, hb, expected] of cases) t.equal(heartbeatEvidence(hb, NOW, STALE_AFTER), expected, name);
});

t.test('heartbeatEvidence with staleAfterMs 0: only a heartbeat written this very ms is fresh', async (t) => {
  t.equal(heartbeatEvidence(heartbeat(0), NOW, 0), 'fresh-healthy');
  t.equal(heartbeatEvidence(heartbeat(1), NOW, 0), 'stale');
});

function sip(alive: boolean): SipVerdict {
  return {
    alive,
    probes: [{ attempt: 1, outcome: alive ? 'alive' : 'no-answer', rttMs: alive ? 3 : 500, at: NOW - 500 }],
    decidedAt: NOW,
  };
}

const ALL_EVIDENCE: readonly HeartbeatEvidence[] = ['fresh-healthy', 'fresh-unhealthy', 'stale', 'absent', 'unknown'];

t.test('judge: the SIP path saying alive is alive whatever the heartbeat says', async (t) => {
  for (const hb of ALL_EVIDENCE) {
    const s = sip(true);
    const v = judge(s, hb);
    t.strictSame(v, { kind: 'alive', sip: s, heartbeat: hb }, hb);
    t.equal(v.sip, s, 'carries the SIP verdict itself');
  }
});

t.test('judge: the SIP path saying dead is a split only on a fresh healthy heartbeat', async (t) => {
  const expected: Record<HeartbeatEvidence, 'dead' | 'split'> = {
    'fresh-healthy': 'split',
    'fresh-unhealthy': 'dead',
    stale: 'dead',
    absent: 'dead',
    unknown: 'dead',
  };
  for (const hb of ALL_EVIDENCE) {
    const s = sip(false);
    t.strictSame(judge(s, hb), { kind: expected[hb], sip: s, heartbeat: hb }, hb);
  }
});

t.test('judge over a real heartbeat at the staleness boundary', async (t) => {
  const dead = sip(false);
  t.equal(judge(dead, heartbeatEvidence(heartbeat(STALE_AFTER), NOW, STALE_AFTER)).kind, 'split', 'still fresh: no takeover');
  t.equal(judge(dead, heartbeatEvidence(heartbeat(STALE_AFTER + 1), NOW, STALE_AFTER)).kind, 'dead');
});
