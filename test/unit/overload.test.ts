import t from 'tap';
import { dissuasionResponse } from '../../src/core/dissuasion';
import { type Load, overloadReason, sheddingResponse } from '../../src/core/overload';

const LIMITS = { eventLoopLagMs: 200, maxPendingVerifications: 200, maxInFlightInvites: 100 };
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
