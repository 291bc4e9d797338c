import pino from 'pino';
import t from 'tap';
import type { ProbeAnswer, SendProbe } from '../../src/core/probe';
import type { ProbeOutcome, ProbeResult } from '../../src/core/types';
import { deadFromEvidence, Verifier, type VerificationOptions } from '../../src/core/verification';
import { OwnerWatch } from '../../src/owner-watch';
import { FakeClock, watch } from '../support/fake-clock';

const OPTS: VerificationOptions = { attempts: 3, intervalMs: 500, timeoutMs: 1000, aliveTtlMs: 5000, aliveStatuses: [200] };

const probe = (at: number, outcome: ProbeOutcome, rttMs = 2): ProbeResult => ({ attempt: 0, at, rttMs, outcome });

t.test('deadFromEvidence: the attempts newest probes all failed, the newest recent; anything else says nothing', async (t) => {
  const failing = [probe(0, 'not-alive'), probe(500, 'no-answer', 1000), probe(1000, 'error')];
  t.match(deadFromEvidence(failing, 1100, OPTS), { alive: false, probes: failing, decidedAt: 1100 }, 'three failures in a row');
  t.equal(deadFromEvidence(failing.slice(1), 1100, OPTS), null, 'two are not enough');
  t.equal(deadFromEvidence([...failing.slice(0, 2), probe(1000, 'alive')], 1100, OPTS), null, 'the newest answered');
  t.equal(deadFromEvidence([probe(0, 'not-alive'), probe(500, 'alive'), probe(1000, 'error'), probe(1500, 'not-alive')], 1600, OPTS), null, 'an answer among the last three');
  t.match(deadFromEvidence([probe(0, 'alive'), ...failing], 1100, OPTS), { probes: failing }, 'an answer before the last three is history');
  // The newest failure completed at 1002; two periods of 1500 ms later it is too old to speak for now.
  t.ok(deadFromEvidence(failing, 1002 + 3000, OPTS), 'still current two probe periods after the newest');
  t.equal(deadFromEvidence(failing, 1002 + 3001, OPTS), null, 'a watch that stopped does not speak for now');
});

/** A verifier fed by an owner watch over a fake owner whose answer can change. */
function watched(watching = () => true) {
  const clock = new FakeClock();
  const t0 = clock.now();
  let answer: ProbeAnswer | 'silence' = { status: 200 };
  const sent: number[] = [];
  const send: SendProbe = () => {
    sent.push(clock.now() - t0);
    const a = answer;
    if (a === 'silence') return new Promise<ProbeAnswer>(() => undefined);
    return new Promise<ProbeAnswer>((resolve) => clock.setTimer(1, () => resolve(a)));
  };
  const verifier = new Verifier(OPTS, { sendProbe: send }, clock);
  const alarms: boolean[] = [];
  const probes: ProbeResult[] = [];
  const ownerWatch = new OwnerWatch(send, verifier, OPTS, watching, clock, pino({ level: 'silent' }), {
    onProbe: (p) => probes.push(p),
    onUnreachable: (raised) => alarms.push(raised),
  });
  return {
    clock,
    verifier,
    ownerWatch,
    sent,
    alarms,
    probes,
    /** Advances to `ms` after the watch's start. */
    advanceTo: (ms: number) => clock.advance(t0 + ms - clock.now()),
    answer: (a: ProbeAnswer | 'silence') => {
      answer = a;
    },
  };
}

t.test('the watch probes every intervalMs while another node owns, not waiting for answers', async (t) => {
  const w = watched();
  w.answer('silence');
  w.ownerWatch.start();
  await w.clock.advance(2000);
  t.strictSame(w.sent, [0, 500, 1000, 1500, 2000], 'one probe per interval, in flight together');
  w.ownerWatch.stop();
  await w.clock.advance(2000);
  t.equal(w.sent.length, 5, 'none after stop');
});

t.test('an owner that answers: overflow calls are dissuaded from the watch, without a probe of their own', async (t) => {
  const w = watched();
  w.ownerWatch.start();
  await w.clock.advance(1000);
  const before = w.sent.length;
  const r = await w.verifier.verify();
  t.match(r, { kind: 'verdict', cached: true, verdict: { alive: true } });
  t.equal(w.sent.length, before, 'no probe for the call');
  t.strictSame(w.alarms, [], 'no alarm');
});

t.test('an owner that dies: alarm after attempts failures, then the next call is judged dead at once', async (t) => {
  const w = watched();
  w.ownerWatch.start();
  await w.clock.advance(1000);
  w.answer({ status: 503 }); // its host gone: drachtio answers for it at once (1 ms)
  await w.advanceTo(2001);
  t.strictSame(w.alarms, [], 'two failures (probes of 1500 and 2000): not yet');
  await w.advanceTo(2501);
  t.strictSame(w.alarms, [true], 'the third failure raises owner_unreachable');
  const before = w.sent.length;
  const r = watch(w.verifier.verify());
  await w.clock.advance(0);
  t.match(r.value, { kind: 'verdict', evidence: true, cached: false, joined: false, verdict: { alive: false } }, 'decided at once');
  t.equal(w.sent.length, before, 'no probe for the call');
  w.answer({ status: 200 });
  await w.advanceTo(3001);
  t.strictSame(w.alarms, [true, false], 'one answer clears the alarm');
  t.match(await w.verifier.verify(), { cached: true, verdict: { alive: true } }, 'and calls are dissuaded again');
});

t.test('one failed probe after answers drops the alive cache: the call verifies for itself', async (t) => {
  const w = watched();
  w.ownerWatch.start();
  await w.clock.advance(1000);
  w.answer({ status: 503 });
  await w.advanceTo(1501);
  w.answer({ status: 200 });
  const before = w.sent.length;
  const r = watch(w.verifier.verify());
  await w.clock.advance(10);
  t.match(r.value, { kind: 'verdict', cached: false, verdict: { alive: true } });
  t.equal(w.sent.length, before + 1, 'a probe of its own');
  t.strictSame(w.alarms, []);
});

t.test('while this node owns there is nobody to watch: no probe, alarm cleared', async (t) => {
  let owning = false;
  const w = watched(() => !owning);
  w.answer({ status: 503 });
  w.ownerWatch.start();
  await w.advanceTo(1001);
  t.strictSame(w.alarms, [true]);
  owning = true;
  const sent = w.sent.length;
  await w.clock.advance(2000);
  t.equal(w.sent.length, sent, 'no probe of ourselves');
  t.strictSame(w.alarms, [true, false]);
});

t.test('a new owner: invalidate forgets the old one\'s failures', async (t) => {
  const w = watched();
  w.answer({ status: 503 });
  w.ownerWatch.start();
  await w.advanceTo(1001);
  t.ok(w.verifier.deadFromEvidence(), 'dead from evidence');
  w.verifier.invalidate();
  t.equal(w.verifier.deadFromEvidence(), null, 'nothing known of the new owner');
});
