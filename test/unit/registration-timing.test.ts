import t from 'tap';
import { bindingExpiresAt, foreignBindings, interpretRegisterResponse, refreshDelayMs, retryDelayMs } from '../../src/core/registration-timing';

t.test('refreshDelayMs: half-way up to 60 s, 30 s before the end beyond', async (t) => {
  const cases: ReadonlyArray<readonly [number, number]> = [
    [1, 500],
    [2, 1000],
    [60, 30_000],
    [61, 31_000],
    [300, 270_000],
    [3600, 3_570_000],
  ];
  for (const [granted, delay] of cases) t.equal(refreshDelayMs(granted), delay, `${granted} s`);
});

t.test('refreshDelayMs never schedules at or before zero, nor past the expiry', async (t) => {
  t.equal(refreshDelayMs(0), 500, 'a zero grant is treated as 1 s');
  t.equal(refreshDelayMs(-30), 500, 'a negative grant is treated as 1 s');
  for (const granted of [1, 59, 60, 61, 90, 3600, 86_400]) {
    const d = refreshDelayMs(granted);
    t.ok(d > 0 && d < granted * 1000, `${granted} s → ${d} ms is inside the grant`);
  }
});

t.test('refreshDelayMs grows with the grant, across the 60 s switch too', async (t) => {
  let previous = 0;
  for (let granted = 1; granted <= 120; granted++) {
    const d = refreshDelayMs(granted);
    t.ok(d > previous, `${granted} s refreshes later than ${granted - 1} s`);
    previous = d;
  }
});

t.test('retryDelayMs doubles from 1 s and is capped', async (t) => {
  const expected: ReadonlyArray<readonly [number, number]> = [
    [0, 1000],
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 8000],
    [5, 16_000],
    [6, 30_000],
    [7, 30_000],
    [50, 30_000],
    [2000, 30_000],
  ];
  for (const [failures, delay] of expected) t.equal(retryDelayMs(failures), delay, `${failures} failures`);
});

t.test('retryDelayMs honours a custom cap', async (t) => {
  t.equal(retryDelayMs(3, 5000), 4000);
  t.equal(retryDelayMs(4, 5000), 5000);
  t.equal(retryDelayMs(1, 500), 500, 'a cap below 1 s applies from the first failure');
});

const OURS = 'sip:understudy@10.0.0.2:5060';
const request = { contact: OURS, expires: 600 };

function ok(res: { readonly contact?: string; readonly expires?: string }, req: { readonly contact: string; readonly expires: number } = request) {
  return interpretRegisterResponse({ status: 200, reason: 'OK', ...res }, req);
}

t.test('200: the expires parameter of our own binding among several', async (t) => {
  const contact = [
    '"Front > lobby, desk" <sip:desk@10.0.0.9>;expires=30',
    `"Understudy, node B" <${OURS};transport=udp>;q=0.5;expires=240`,
    '<sip:other@10.0.0.3>;expires=3600',
  ].join(', ');
  t.strictSame(ok({ contact, expires: '900' }), { kind: 'registered', grantedSec: 240 });
});

t.test('200: our binding is matched on scheme, user, host and port only', async (t) => {
  t.strictSame(ok({ contact: `<${OURS};transport=tcp;ob>;expires=120` }), { kind: 'registered', grantedSec: 120 }, 'URI parameters ignored');
  t.strictSame(ok({ contact: '<SIP:Understudy@10.0.0.2:5060>;Expires=77' }), { kind: 'registered', grantedSec: 77 }, 'case ignored');
  t.strictSame(
    ok({ contact: '<sip:understudy@10.0.0.2:5070>;expires=77, <sip:understudy@10.0.0.22:5060>;expires=78' }),
    { kind: 'registered', grantedSec: 600 },
    'another port or host is not ours',
  );
  t.strictSame(
    ok({ contact: '<sip:understudy@10.0.0.2:5060;transport=tcp>;expires=120' }, { contact: `<${OURS}>`, expires: 600 }),
    { kind: 'registered', grantedSec: 120 },
    'our contact given in angle brackets',
  );
});

t.test('200: an expires inside the URI is not the binding’s lifetime', async (t) => {
  t.strictSame(ok({ contact: `<${OURS};expires=5>;q=1;expires=99` }), { kind: 'registered', grantedSec: 99 });
  t.strictSame(ok({ contact: `<${OURS};expires=5>`, expires: '300' }), { kind: 'registered', grantedSec: 300 });
});

t.test('200: a contact without angle brackets carries its parameters after the URI', async (t) => {
  t.strictSame(ok({ contact: `${OURS};expires=88` }), { kind: 'registered', grantedSec: 88 });
  t.strictSame(ok({ contact: `sip:desk@10.0.0.9;expires=10, ${OURS} ; expires = 45` }), { kind: 'registered', grantedSec: 45 });
});

t.test('200: our binding without expires falls back to the Expires header', async (t) => {
  t.strictSame(ok({ contact: `<sip:desk@10.0.0.9>;expires=30, <${OURS}>;q=0.9`, expires: '1800' }), { kind: 'registered', grantedSec: 1800 });
});

t.test('200 with the Expires header only', async (t) => {
  t.strictSame(ok({ expires: '3600' }), { kind: 'registered', grantedSec: 3600 });
  t.strictSame(ok({ expires: ' 120 ' }), { kind: 'registered', grantedSec: 120 }, 'surrounding spaces');
  t.strictSame(ok({ contact: '<sip:desk@10.0.0.9>;expires=30', expires: '300' }), { kind: 'registered', grantedSec: 300 }, 'only others listed');
});

t.test('200 with nothing usable: what we asked for', async (t) => {
  t.strictSame(ok({}), { kind: 'registered', grantedSec: 600 });
  t.strictSame(ok({ contact: '', expires: '' }), { kind: 'registered', grantedSec: 600 });
  t.strictSame(ok({ expires: 'soon' }), { kind: 'registered', grantedSec: 600 }, 'an Expires that is not a number');
  t.strictSame(ok({ expires: '-5' }), { kind: 'registered', grantedSec: 600 }, 'a negative Expires');
  t.strictSame(ok({ expires: '1.5' }), { kind: 'registered', grantedSec: 600 }, 'a fractional Expires');
});

t.test('any 2xx counts as registered', async (t) => {
  t.strictSame(interpretRegisterResponse({ status: 202, reason: 'Accepted', expires: '60' }, request), { kind: 'registered', grantedSec: 60 });
});

function answer423(minExpires: string | undefined) {
  return interpretRegisterResponse({ status: 423, reason: 'Interval Too Brief', minExpires }, request);
}

t.test('423 with a larger Min-Expires: retry with it', async (t) => {
  t.strictSame(answer423('3600'), { kind: 'retry-with-expires', expires: 3600 });
  t.strictSame(answer423(' 601 '), { kind: 'retry-with-expires', expires: 601 });
});

t.test('423 that cannot be satisfied by retrying is refused', async (t) => {
  const refused = { kind: 'refused', status: 423, reason: 'Interval Too Brief' };
  t.strictSame(answer423(undefined), refused, 'no Min-Expires');
  t.strictSame(answer423('soon'), refused, 'Min-Expires not a number');
  t.strictSame(answer423(''), refused, 'empty Min-Expires');
  t.strictSame(answer423('600'), refused, 'Min-Expires equal to what we asked');
  t.strictSame(answer423('300'), refused, 'Min-Expires below what we asked');
});

t.test('other final responses are refused with their status and reason', async (t) => {
  for (const [status, reason] of [
    [401, 'Unauthorized'],
    [403, 'Forbidden'],
    [404, 'Not Found'],
    [500, 'Server Internal Error'],
    [503, 'Service Unavailable'],
    [603, 'Decline'],
  ] as const) {
    t.strictSame(
      interpretRegisterResponse({ status, reason, expires: '3600', minExpires: '7200' }, request),
      { kind: 'refused', status, reason },
      `${status}`,
    );
  }
});

t.test('200: quoted display names may hold <, > and commas, and escaped quotes', async (t) => {
  const registered = (grantedSec: number) => ({ kind: 'registered', grantedSec });
  t.strictSame(ok({ contact: `"Ops <on call>" <${OURS}>;expires=240` }), registered(240));
  t.strictSame(ok({ contact: `"Front, <${OURS}>;expires=5" <sip:desk@10.0.0.9>;expires=30` }), registered(600));
  t.strictSame(ok({ contact: `"x\\" >, y" <sip:desk@10.0.0.9>;expires=30, <${OURS}>;expires=240` }), registered(240));
});

t.test('a binding lapses the granted seconds after its REGISTER was sent', async (t) => {
  t.equal(bindingExpiresAt(1_000_000, 60), 1_060_000);
  t.equal(bindingExpiresAt(5, 0), 5, 'nothing granted: gone at once');
});

t.test('foreign bindings: the other live contacts a 2xx lists beside ours', async (t) => {
  const ours = 'sip:understudy@10.0.0.2:5060';
  t.strictSame(foreignBindings(`<sip:desk@10.0.0.9>;expires=30, <${ours}>;expires=60`, ours), ['sip:desk@10.0.0.9']);
  t.strictSame(foreignBindings(`<${ours};transport=udp>;expires=60`, ours), [], 'only ours, with parameters');
  t.strictSame(foreignBindings(`<sip:desk@10.0.0.9>;expires=0, <${ours}>;expires=60`, ours), [], 'a binding being removed does not count');
  t.strictSame(foreignBindings('<sip:understudy@203.0.113.7:40123>;expires=60', ours), [], 'ours not in the list (rewritten behind NAT): no conflict can be told');
  t.strictSame(foreignBindings(undefined, ours), [], 'no list at all');
  t.strictSame(foreignBindings(`"Desk, 2" <sip:desk@10.0.0.9>, ${ours};expires=60`, ours), ['sip:desk@10.0.0.9'], 'without expires: live');
});
