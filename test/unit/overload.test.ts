import t from 'tap';
import { dissuasionResponse } from '../../src/core/dissuasion';
import { CallRate, type Load, overloadReason, sheddingResponse, shedReason } from '../../src/core/overload';

const LIMITS = { eventLoopLagMs: 200, maxPendingVerifications: 200, maxInFlightInvites: 100, maxCallsPerSecond: 100 };
const IDLE: Load = { lagMs: 0, pendingVerifications: 0, inFlightInvites: 0 };

t.test('nothing to shed below every bound', async (t) => {
  t.equal(overloadReason(IDLE, LIMITS), null);
  t.equal(overloadReason({ lagMs: 200, pendingVerifications: 199, inFlightInvites: 99 }, LIMITS), null, 'each just under (lag at the bound is not over it)');
});

t.test('in-flight INVITEs: shed from the bound on, the next one admitted once one is answered', async (t) => {
  t.match(overloadReason({ ...IDLE, inFlightInvites: 100 }, LIMITS), /100 INVITEs in flight \(limit 100\)/);
  t.match(overloadReason({ ...IDLE, inFlightInvites: 5000 }, LIMITS), /in flight/);
  t.equal(overloadReason({ ...IDLE, inFlightInvites: 99 }, LIMITS), null);
  t.equal(overloadReason({ ...IDLE, inFlightInvites: 0 }, { ...LIMITS, maxInFlightInvites: 1 }), null, 'a bound of 1 still admits one at a time');
});

t.test('the in-flight bound is named first: it is the one meant to act before the loop lags', async (t) => {
  t.match(overloadReason({ lagMs: 500, pendingVerifications: 500, inFlightInvites: 100 }, LIMITS), /in flight/);
});

t.test('event loop lag and pending verifications still shed on their own', async (t) => {
  t.match(overloadReason({ ...IDLE, lagMs: 201 }, LIMITS), /event loop lag 201 ms > 200 ms/);
  t.match(overloadReason({ ...IDLE, pendingVerifications: 200 }, LIMITS), /200 calls waiting on verification/);
});

t.test('the owner sheds with 503 without Retry-After; a non-owner with its dissuasion', async (t) => {
  const dissuasion = dissuasionResponse({ status: 302 }, 'sip:appsrv@10.0.0.1:5060');
  const owner = sheddingResponse(true, dissuasion);
  t.equal(owner.status, 503);
  t.notOk(Object.keys(owner.headers).some((h) => h.toLowerCase() === 'retry-after'), 'no Retry-After');
  t.strictSame(sheddingResponse(false, dissuasion), dissuasion);
  t.equal(sheddingResponse(false, null).status, 503, 'no peer to send the call back to: 503');
});

/** How many of `attempts` evenly spaced over `ms` a fresh CallRate admits. */
function admitted(rate: CallRate, attempts: number, ms: number, from = 0): number {
  let n = 0;
  for (let i = 0; i < attempts; i++) if (rate.tryAdmit(from + (i * ms) / attempts)) n += 1;
  return n;
}

t.test('call rate: a flow at the rate passes whole, one at three times it is cut to the rate (plus the initial burst)', async (t) => {
  t.equal(admitted(new CallRate(100), 1000, 10_000), 1000, '100/s for 10 s: every call');
  const over = admitted(new CallRate(100), 3000, 10_000);
  // 10 s at 100/s, plus at most the bucket's 20 (a fifth of a second) it starts with.
  t.ok(over >= 1000 && over <= 1020, `300/s for 10 s: ${over} admitted, between 1000 and 1020`);
});

t.test('call rate: a burst passes up to a fifth of a second of the rate, then the next place comes 1/rate later', async (t) => {
  const rate = new CallRate(100);
  t.equal(admitted(rate, 25, 0), 20, '25 at the same instant: 20 admitted');
  t.notOk(rate.tryAdmit(9), 'before 10 ms: no place yet');
  t.ok(rate.tryAdmit(10), 'after 10 ms: one');
  t.notOk(rate.tryAdmit(10));
});

t.test('call rate: 0 is no limit; a clock set back empties nothing', async (t) => {
  t.equal(admitted(new CallRate(0), 100_000, 0), 100_000);
  const rate = new CallRate(5);
  t.ok(rate.tryAdmit(1_000_000));
  t.equal(admitted(rate, 5, 0, 0), 0, 'the clock went back 1000 s: the bucket (1 place) is spent, and not owed 5000 places');
  t.ok(rate.tryAdmit(200), '200 ms after the step back: the next place');
});

t.test('shedReason: only calls bridged at once take a place in the rate; a call shed for another reason takes none', async (t) => {
  const limits = { ...LIMITS, maxCallsPerSecond: 5 };
  const rate = new CallRate(5);
  for (let i = 0; i < 10; i++) t.equal(shedReason(IDLE, limits, false, rate, 0), null, 'overflow INVITEs (verified first) are not counted');
  t.match(shedReason({ ...IDLE, inFlightInvites: 100 }, limits, true, rate, 0), /in flight/);
  t.equal(shedReason(IDLE, limits, true, rate, 0), null, 'the bucket (1 place) is still whole');
  t.match(shedReason(IDLE, limits, true, rate, 0), /more than 5 new calls per second/);
});
