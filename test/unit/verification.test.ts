import { getEventListeners } from 'node:events';
import t from 'tap';
import type { ProbeAnswer, SendProbe } from '../../src/core/probe';
import type { ProbeResult, SipVerdict } from '../../src/core/types';
import { Verifier, type VerificationOptions, type VerificationResult } from '../../src/core/verification';
import { FakeClock, watch, type Watched } from '../support/fake-clock';

const ATTEMPTS = 3;
const INTERVAL = 1000;
const TIMEOUT = 500;
const TTL = 5000;
/** A dead cycle where every probe times out: attempts × timeout + (attempts − 1) × interval. */
const DEAD_CYCLE_MS = ATTEMPTS * TIMEOUT + (ATTEMPTS - 1) * INTERVAL;

const defaults: VerificationOptions = {
  attempts: ATTEMPTS,
  intervalMs: INTERVAL,
  timeoutMs: TIMEOUT,
  aliveTtlMs: TTL,
  aliveStatuses: [200],
};

/**
 * How the primary answers probe number n (1-based over the verifier's lifetime):
 * an answer after a delay, a rejected send, or silence (the send never settles).
 */
type Reply = { readonly answer: ProbeAnswer; readonly afterMs?: number } | { readonly reject: Error } | 'silence';
const ALIVE: Reply = { answer: { status: 200 } };
const BUSY_503: Reply = { answer: { status: 503 } };

interface Sent {
  /** Fake ms since the harness started. */
  readonly at: number;
  readonly signal: AbortSignal;
}

/**
 * A verifier over a fake primary. `replies(n)` decides how probe n is answered;
 * answers are delivered through the fake clock.
 */
function harness(replies: (n: number) => Reply, opts: Partial<VerificationOptions> = {}) {
  const clock = new FakeClock();
  const t0 = clock.now();
  const sent: Sent[] = [];
  const probed: ProbeResult[] = [];
  const verdicts: SipVerdict[] = [];
  const sendProbe: SendProbe = (signal) => {
    sent.push({ at: clock.now() - t0, signal });
    const reply = replies(sent.length);
    if (reply === 'silence') return new Promise<ProbeAnswer>(() => undefined);
    if ('reject' in reply) return Promise.reject(reply.reject);
    return new Promise<ProbeAnswer>((resolve) => clock.setTimer(reply.afterMs ?? 0, () => resolve(reply.answer)));
  };
  const verifier = new Verifier(
    { ...defaults, ...opts },
    { sendProbe, onProbe: (r) => probed.push(r), onVerdict: (v) => verdicts.push(v) },
    clock,
  );
  const elapsed = () => clock.now() - t0;
  const verify = (signal?: AbortSignal) => watch(verifier.verify(signal));
  /** Advances to `ms` after the harness started. */
  const advanceTo = (ms: number) => clock.advance(ms - elapsed());
  return { clock, verifier, sent, probed, verdicts, verify, elapsed, advanceTo };
}

const always = (r: Reply) => () => r;
const sequence =
  (...rs: Reply[]) =>
  (n: number) =>
    rs[n - 1] ?? 'silence';

function verdictOf(w: Watched<VerificationResult>): Extract<VerificationResult, { kind: 'verdict' }> {
  const r = w.value;
  if (r.kind !== 'verdict') throw new Error(`expected a verdict, got ${r.kind}`);
  return r;
}

t.test('dead after exactly `attempts` timed-out probes, interval between them, none after the last', async (t) => {
  const h = harness(always('silence'));
  const w = h.verify();
  await h.advanceTo(DEAD_CYCLE_MS - 1);
  t.notOk(w.settled, 'not decided before the last probe times out');
  await h.advanceTo(DEAD_CYCLE_MS);
  const r = verdictOf(w);
  t.equal(r.verdict.alive, false);
  t.equal(r.verdict.decidedAt - h.clock.now(), 0, 'decided at once when the last probe times out, no trailing interval');
  t.strictSame(
    h.sent.map((s) => s.at),
    [0, TIMEOUT + INTERVAL, 2 * (TIMEOUT + INTERVAL)],
  );
  t.strictSame(
    r.verdict.probes.map((p) => [p.attempt, p.outcome, p.rttMs]),
    [
      [1, 'no-answer', TIMEOUT],
      [2, 'no-answer', TIMEOUT],
      [3, 'no-answer', TIMEOUT],
    ],
  );
  t.equal(h.clock.pendingTimers, 0, 'no interval timer left behind');
  await h.advanceTo(DEAD_CYCLE_MS + 60_000);
  t.equal(h.sent.length, ATTEMPTS, 'no probe after the verdict');
  t.strictSame({ kind: r.kind, joined: r.joined, cached: r.cached }, { kind: 'verdict', joined: false, cached: false }, 'a fresh cycle of its own');
});

t.test('the per-probe timeout decides, not the stack’s 32 s Timer F', async (t) => {
  const timerF: Reply = { answer: { status: 408 }, afterMs: 32_000 };
  const h = harness(always(timerF));
  const w = h.verify();
  await h.advanceTo(DEAD_CYCLE_MS);
  t.equal(verdictOf(w).verdict.alive, false, 'dead long before any 408 could arrive');
  t.ok(verdictOf(w).verdict.probes.every((p) => p.outcome === 'no-answer'));
  await h.advanceTo(40_000);
  t.equal(h.probed.length, ATTEMPTS, 'the late 408s are not reported as probes');
});

t.test('a single attempt sends one probe and no interval', async (t) => {
  const h = harness(always('silence'), { attempts: 1 });
  const w = h.verify();
  await h.advanceTo(TIMEOUT);
  t.equal(verdictOf(w).verdict.alive, false);
  t.equal(h.sent.length, 1);
  t.equal(h.clock.pendingTimers, 0);
});

t.test('non-alive answers, errors and rejections all count as failed attempts', async (t) => {
  const h = harness(sequence(BUSY_503, { answer: { error: 'drachtio down' } }, { reject: new Error('transport gone') }));
  const w = h.verify();
  await h.advanceTo(2 * INTERVAL);
  const r = verdictOf(w);
  t.equal(r.verdict.alive, false);
  t.strictSame(
    r.verdict.probes.map((p) => [p.outcome, p.status, p.detail]),
    [
      ['not-alive', 503, undefined],
      ['error', undefined, 'drachtio down'],
      ['error', undefined, 'transport gone'],
    ],
  );
  t.strictSame(
    h.sent.map((s) => s.at),
    [0, INTERVAL, 2 * INTERVAL],
    'immediate answers are followed by the interval only',
  );
});

t.test('alive on the first probe stops at once', async (t) => {
  const h = harness(always({ answer: { status: 200 }, afterMs: 40 }));
  const w = h.verify();
  await h.advanceTo(40);
  const r = verdictOf(w);
  t.equal(r.verdict.alive, true);
  t.equal(r.verdict.probes.length, 1);
  t.equal(r.verdict.probes[0]?.rttMs, 40);
  t.equal(r.verdict.decidedAt - h.clock.now(), 0);
  await h.advanceTo(60_000);
  t.equal(h.sent.length, 1, 'no further probes');
});

t.test('alive on the third attempt after two timeouts', async (t) => {
  const h = harness(sequence('silence', 'silence', ALIVE));
  const w = h.verify();
  const aliveAt = 2 * (TIMEOUT + INTERVAL);
  await h.advanceTo(aliveAt - 1);
  t.notOk(w.settled);
  await h.advanceTo(aliveAt);
  const r = verdictOf(w);
  t.equal(r.verdict.alive, true);
  t.strictSame(
    r.verdict.probes.map((p) => p.outcome),
    ['no-answer', 'no-answer', 'alive'],
  );
  t.equal(r.verdict.probes[2]?.attempt, 3);
  t.equal(h.sent.length, 3);
});

t.test('a configured non-200 alive status counts as alive', async (t) => {
  const h = harness(always({ answer: { status: 486 } }), { aliveStatuses: [200, 486] });
  const w = h.verify();
  await h.advanceTo(0);
  t.equal(verdictOf(w).verdict.alive, true);
});

t.test('concurrent calls join one cycle: one set of probes, one verdict for all', async (t) => {
  const h = harness(always('silence'));
  const ws = Array.from({ length: 5 }, () => h.verify());
  t.equal(h.verifier.pending, 5);
  await h.advanceTo(TIMEOUT + 10);
  const late = h.verify();
  t.equal(h.verifier.pending, 6, 'a call arriving mid-cycle joins it');
  await h.advanceTo(DEAD_CYCLE_MS);
  const all = [...ws, late].map(verdictOf);
  t.equal(h.sent.length, ATTEMPTS, 'one cycle of probes for six calls');
  t.equal(h.verdicts.length, 1, 'one verdict reported');
  for (const r of all) t.equal(r.verdict, h.verdicts[0], 'every call gets the same verdict');
  t.strictSame(
    all.map((r) => r.joined),
    [false, true, true, true, true, true],
  );
  t.ok(all.every((r) => !r.cached));
  t.equal(h.verifier.pending, 0);
});

t.test('pending counts the calls waiting', async (t) => {
  const h = harness(sequence('silence', ALIVE));
  t.equal(h.verifier.pending, 0);
  h.verify();
  h.verify();
  t.equal(h.verifier.pending, 2);
  await h.advanceTo(TIMEOUT + INTERVAL);
  t.equal(h.verifier.pending, 0, 'none once the verdict is out');
});

t.test('an alive verdict is cached for aliveTtlMs from when it was decided', async (t) => {
  const h = harness(always({ answer: { status: 200 }, afterMs: 200 }));
  const first = h.verify();
  await h.advanceTo(200);
  const decided = verdictOf(first).verdict;

  await h.advanceTo(200 + TTL - 1);
  const cached = h.verify();
  await h.clock.advance(0);
  t.strictSame(verdictOf(cached), { kind: 'verdict', verdict: decided, joined: false, cached: true });
  t.equal(verdictOf(cached).verdict, decided, 'the very same verdict');
  t.equal(h.sent.length, 1, 'no probe within the TTL');
  t.equal(h.verdicts.length, 1, 'onVerdict is not called for a cached answer');
  t.equal(h.verifier.pending, 0, 'a cached answer waits on nothing');

  await h.advanceTo(200 + TTL);
  const fresh = h.verify();
  t.equal(h.sent.length, 2, 'probes again once the TTL is over');
  await h.clock.advance(200);
  t.equal(verdictOf(fresh).cached, false);
  t.not(verdictOf(fresh).verdict, decided);
});

t.test('dead verdicts are never cached', async (t) => {
  const h = harness(always(BUSY_503), { attempts: 1 });
  const first = h.verify();
  await h.clock.advance(0);
  t.equal(verdictOf(first).verdict.alive, false);
  const second = h.verify();
  t.equal(h.sent.length, 2, 'the next call probes again at once');
  await h.clock.advance(0);
  t.equal(verdictOf(second).cached, false);
});

t.test('invalidate() forgets a cached alive verdict', async (t) => {
  const h = harness(always(ALIVE));
  h.verify();
  await h.clock.advance(0);
  h.verifier.invalidate();
  const w = h.verify();
  await h.clock.advance(0);
  t.equal(verdictOf(w).cached, false);
  t.equal(h.sent.length, 2);
});

t.test('invalidate() with nothing cached is harmless', async (t) => {
  const h = harness(always(ALIVE));
  h.verifier.invalidate();
  const w = h.verify();
  await h.clock.advance(0);
  t.equal(verdictOf(w).verdict.alive, true);
});

t.test('one waiter cancelling does not stop the cycle for the others', async (t) => {
  const h = harness(always('silence'));
  const leaver = new AbortController();
  const gone = h.verify(leaver.signal);
  const stays = h.verify();
  await h.advanceTo(TIMEOUT + 100);
  leaver.abort();
  await h.clock.advance(0);
  t.strictSame(gone.value, { kind: 'cancelled' }, 'the cancelled call returns at once');
  t.equal(h.verifier.pending, 1);
  t.notOk(h.sent[1]?.signal.aborted ?? false);
  await h.advanceTo(DEAD_CYCLE_MS);
  t.equal(verdictOf(stays).verdict.alive, false, 'the other call still gets its verdict');
  t.equal(h.sent.length, ATTEMPTS);
});

t.test('when every waiter cancels during a probe, the cycle stops and sends nothing more', async (t) => {
  const h = harness(always('silence'));
  const a = new AbortController();
  const b = new AbortController();
  const wa = h.verify(a.signal);
  const wb = h.verify(b.signal);
  await h.advanceTo(TIMEOUT + INTERVAL + 100);
  t.equal(h.sent.length, 2);
  a.abort();
  b.abort();
  await h.clock.advance(0);
  t.strictSame(wa.value, { kind: 'cancelled' });
  t.strictSame(wb.value, { kind: 'cancelled' });
  t.ok(h.sent[1]?.signal.aborted, 'the probe in flight is aborted');
  t.equal(h.clock.pendingTimers, 0, 'no probe timeout or interval left');
  await h.advanceTo(60_000);
  t.equal(h.sent.length, 2, 'no further probes');
  t.equal(h.probed.length, 1, 'the aborted probe is not reported');
  t.equal(h.verdicts.length, 0, 'no verdict is reported');
  t.equal(h.verifier.pending, 0);
});

t.test('when every waiter cancels during the interval, no next probe is sent', async (t) => {
  const h = harness(always(BUSY_503));
  const a = new AbortController();
  const w = h.verify(a.signal);
  await h.advanceTo(INTERVAL / 2);
  t.equal(h.sent.length, 1);
  a.abort();
  await h.clock.advance(0);
  t.strictSame(w.value, { kind: 'cancelled' });
  t.equal(h.clock.pendingTimers, 0, 'the interval timer is cleared');
  await h.advanceTo(60_000);
  t.equal(h.sent.length, 1);
  t.equal(h.verdicts.length, 0);
});

t.test('a call after a cancelled cycle starts a fresh one from attempt 1', async (t) => {
  const h = harness(sequence('silence', ALIVE));
  const a = new AbortController();
  h.verify(a.signal);
  await h.advanceTo(100);
  a.abort();
  await h.clock.advance(0);
  const w = h.verify();
  t.equal(h.sent.length, 2);
  await h.clock.advance(0);
  const r = verdictOf(w);
  t.equal(r.joined, false);
  t.strictSame(
    r.verdict.probes.map((p) => [p.attempt, p.outcome]),
    [[1, 'alive']],
  );
});

t.test('an already-aborted signal is cancelled at once and touches nothing', async (t) => {
  const h = harness(always('silence'));
  const aborted = new AbortController();
  aborted.abort();
  const idle = h.verify(aborted.signal);
  await h.clock.advance(0);
  t.strictSame(idle.value, { kind: 'cancelled' });
  t.equal(h.sent.length, 0, 'no cycle is started for it');
  t.equal(h.verifier.pending, 0);

  const running = h.verify();
  const alsoAborted = h.verify(aborted.signal);
  await h.clock.advance(0);
  t.strictSame(alsoAborted.value, { kind: 'cancelled' });
  t.equal(h.verifier.pending, 1, 'it does not join the running cycle');
  await h.advanceTo(DEAD_CYCLE_MS);
  t.equal(verdictOf(running).verdict.alive, false);
});

t.test('a signal that never aborts does not disturb the verdict and is left without listeners', async (t) => {
  const h = harness(sequence('silence', ALIVE));
  const signal = new AbortController().signal;
  const w = h.verify(signal);
  await h.clock.advance(0);
  t.equal(getEventListeners(signal, 'abort').length, 1, 'listened to while waiting');
  await h.advanceTo(TIMEOUT + INTERVAL);
  t.equal(verdictOf(w).verdict.alive, true);
  t.equal(getEventListeners(signal, 'abort').length, 0, 'no listener left once answered');
});

t.test('onProbe sees each probe as it completes, onVerdict sees the verdict returned', async (t) => {
  const h = harness(sequence(BUSY_503, 'silence', ALIVE));
  const w = h.verify();
  await h.advanceTo(0);
  t.strictSame(
    h.probed.map((p) => p.attempt),
    [1],
    'the first probe is reported before the cycle ends',
  );
  t.equal(h.verdicts.length, 0);
  await h.advanceTo(INTERVAL + TIMEOUT);
  t.strictSame(
    h.probed.map((p) => p.attempt),
    [1, 2],
  );
  await h.advanceTo(2 * INTERVAL + TIMEOUT);
  const r = verdictOf(w);
  t.strictSame(h.probed, r.verdict.probes, 'the same results, in order');
  t.equal(h.verdicts.length, 1);
  t.equal(h.verdicts[0], r.verdict);
});

t.test('delegate callbacks are optional', async (t) => {
  const clock = new FakeClock();
  const v = new Verifier(defaults, { sendProbe: () => Promise.resolve({ status: 200 }) }, clock);
  const w = watch(v.verify());
  await clock.advance(0);
  t.equal(verdictOf(w).verdict.alive, true);
});

t.test('a call arriving in the same tick the last waiter cancelled starts a fresh cycle, never gets cancelled', async (t) => {
  const h = harness(sequence('silence', ALIVE));
  const a = new AbortController();
  h.verify(a.signal);
  await h.advanceTo(10);
  a.abort();
  // Two microtask turns: the cancelled waiter has detached, the aborted cycle has not settled yet.
  await Promise.resolve();
  await Promise.resolve();
  const w = h.verify();
  await h.clock.advance(0);
  const r = verdictOf(w);
  t.equal(r.verdict.alive, true);
  t.equal(r.joined, false);
});
