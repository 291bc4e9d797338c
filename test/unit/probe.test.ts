import { getEventListeners } from 'node:events';
import t from 'tap';
import { probeOnce, type ProbeAnswer, type SendProbe } from '../../src/core/probe';
import { FakeClock, watch } from '../support/fake-clock';

const TIMEOUT = 500;
const opts = { attempt: 2, timeoutMs: TIMEOUT, aliveStatuses: [200] };

/** One OPTIONS in flight whose answer the test controls; it never settles unless told to. */
interface InFlight {
  readonly signal: AbortSignal;
  answer(a: ProbeAnswer): void;
  fail(reason: unknown): void;
}

function manualSend(): { readonly send: SendProbe; readonly calls: InFlight[] } {
  const calls: InFlight[] = [];
  const send: SendProbe = (signal) =>
    new Promise<ProbeAnswer>((resolve, reject) => {
      calls.push({ signal, answer: resolve, fail: reject });
    });
  return { send, calls };
}

/** Starts one probe with a manual sender; returns everything a test needs to drive and inspect it. */
function start(signal?: AbortSignal, probeOpts = opts) {
  const clock = new FakeClock();
  const { send, calls } = manualSend();
  const startedAt = clock.now();
  const result = watch(probeOnce(send, probeOpts, clock, signal));
  return { clock, calls, startedAt, result };
}

/** Answers the single probe in flight after `afterMs` and returns the settled result. */
async function answered(a: ProbeAnswer | { readonly reject: unknown }, afterMs = 0, probeOpts = opts) {
  const p = start(undefined, probeOpts);
  await p.clock.advance(afterMs);
  const call = p.calls[0];
  if (!call) throw new Error('no probe was sent');
  if ('reject' in a) call.fail(a.reject);
  else call.answer(a);
  await p.clock.advance(0);
  return p;
}

t.test('an alive status answers alive, with the attempt, send time and status', async (t) => {
  const { result, startedAt, clock } = await answered({ status: 200 });
  t.ok(result.settled);
  t.strictSame(result.value, { attempt: 2, at: startedAt, rttMs: 0, outcome: 'alive', status: 200 });
  t.equal(clock.pendingTimers, 0, 'the timeout timer is cleared');
});

t.test('any of the configured alive statuses counts as alive', async (t) => {
  const { result } = await answered({ status: 404 }, 0, { ...opts, aliveStatuses: [200, 404] });
  t.equal(result.value.outcome, 'alive');
  t.equal(result.value.status, 404);
});

t.test('a status outside the alive list is not-alive', async (t) => {
  for (const status of [503, 486, 408, 100, 404]) {
    const { result, clock } = await answered({ status });
    t.equal(result.value.outcome, 'not-alive', `${status}`);
    t.equal(result.value.status, status);
    t.equal(result.value.detail, undefined);
    t.equal(clock.pendingTimers, 0);
  }
});

t.test('an error answer is an error with its reason and no status', async (t) => {
  const { result, clock } = await answered({ error: 'drachtio not connected' });
  t.strictSame(result.value, { attempt: 2, at: clock.now(), rttMs: 0, outcome: 'error', detail: 'drachtio not connected' });
  t.equal(clock.pendingTimers, 0);
});

t.test('a rejected send is an error carrying the message', async (t) => {
  const withError = await answered({ reject: new Error('socket closed') });
  t.equal(withError.result.value.outcome, 'error');
  t.equal(withError.result.value.detail, 'socket closed');
  t.equal(withError.clock.pendingTimers, 0);

  const withString = await answered({ reject: 'plain reason' });
  t.equal(withString.result.value.outcome, 'error');
  t.equal(withString.result.value.detail, 'plain reason');
});

t.test('rttMs is the fake time between send and answer', async (t) => {
  const { result, startedAt } = await answered({ status: 200 }, 123);
  t.equal(result.value.rttMs, 123);
  t.equal(result.value.at, startedAt, 'at is when the probe was sent, not when it was answered');
});

t.test('an answer one millisecond before the timeout still counts', async (t) => {
  const { result, clock } = await answered({ status: 200 }, TIMEOUT - 1);
  t.equal(result.value.outcome, 'alive');
  t.equal(result.value.rttMs, TIMEOUT - 1);
  t.equal(clock.pendingTimers, 0);
});

t.test('no answer: no-answer exactly at timeoutMs, the send is aborted, a late answer is ignored', async (t) => {
  const { clock, calls, result, startedAt } = start();
  t.equal(calls.length, 1, 'sent at once');
  const call = calls[0]!;

  await clock.advance(TIMEOUT - 1);
  t.notOk(result.settled, 'still waiting one millisecond before the timeout');
  t.notOk(call.signal.aborted, 'the send is not aborted while waiting');

  await clock.advance(1);
  t.ok(result.settled, 'settles exactly at the timeout');
  t.strictSame(result.value, {
    attempt: 2,
    at: startedAt,
    rttMs: TIMEOUT,
    outcome: 'no-answer',
    detail: `no answer within ${TIMEOUT} ms`,
  });
  t.ok(call.signal.aborted, 'the signal handed to send is aborted on timeout');

  call.answer({ status: 200 });
  await clock.advance(1000);
  t.equal(result.value.outcome, 'no-answer', 'the late answer changes nothing');
  t.equal(clock.pendingTimers, 0);
});

t.test('an outer abort while waiting ends the probe as cancelled at once', async (t) => {
  const outer = new AbortController();
  const { clock, calls, result, startedAt } = start(outer.signal);
  await clock.advance(100);
  t.notOk(result.settled);

  outer.abort();
  await clock.advance(0);
  t.ok(result.settled, 'settles without waiting for the timeout');
  t.strictSame(result.value, { attempt: 2, at: startedAt, rttMs: 100, outcome: 'error', detail: 'cancelled' });
  t.ok(calls[0]?.signal.aborted, 'the send is aborted too');
  t.equal(clock.pendingTimers, 0, 'the timeout timer is cleared');

  calls[0]?.answer({ status: 200 });
  await clock.advance(TIMEOUT);
  t.equal(result.value.detail, 'cancelled', 'an answer after the abort is ignored');
});

t.test('an already-aborted outer signal cancels before anything is sent', async (t) => {
  const outer = new AbortController();
  outer.abort();
  const { clock, calls, result, startedAt } = start(outer.signal);
  await clock.advance(0);
  t.strictSame(result.value, { attempt: 2, at: startedAt, rttMs: 0, outcome: 'error', detail: 'cancelled' });
  t.equal(calls.length, 0, 'no OPTIONS is sent');
  t.equal(clock.pendingTimers, 0);
});

t.test('an outer abort after the answer changes nothing', async (t) => {
  const outer = new AbortController();
  const { clock, calls, result } = start(outer.signal);
  t.equal(getEventListeners(outer.signal, 'abort').length, 1, 'the outer signal is watched while waiting');
  calls[0]?.answer({ status: 200 });
  await clock.advance(0);
  t.equal(getEventListeners(outer.signal, 'abort').length, 0, 'and no longer once answered');
  outer.abort();
  await clock.advance(0);
  t.equal(result.value.outcome, 'alive');
});

t.test('an outer abort after a timeout does not rewrite the result', async (t) => {
  const outer = new AbortController();
  const { clock, result } = start(outer.signal);
  await clock.advance(TIMEOUT);
  t.equal(result.value.outcome, 'no-answer');
  outer.abort();
  await clock.advance(0);
  t.equal(result.value.outcome, 'no-answer', 'a later outer abort does not rewrite the result');
});

t.test('a sender that throws synchronously is an error outcome, and leaves no timer behind', async (t) => {
  const clock = new FakeClock();
  const throwing: SendProbe = () => {
    throw new Error('no socket');
  };
  const result = watch(probeOnce(throwing, opts, clock));
  await clock.advance(0);
  t.equal(result.settled, true);
  t.equal(result.value.outcome, 'error');
  t.equal(result.value.detail, 'no socket');
  t.equal(clock.pendingTimers, 0);
});
