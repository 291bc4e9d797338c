import { EventEmitter } from 'node:events';
import pino from 'pino';
import t from 'tap';
import { Registration, type RegisterKind, type RegisterResult } from '../../src/sip/registration';
import type { Srf } from '../../src/sip/srf';
import { FakeClock } from '../support/fake-clock';

const silent = pino({ level: 'silent' });
const OURS = 'sip:appsrv@127.0.0.11:5060';

interface Sent {
  headers: Record<string, string>;
}

/**
 * Just enough of drachtio-srf for the registration: a connected socket map and
 * request() whose final response the test script decides.
 */
function fakeSrf(answer: (h: Record<string, string>, n: number) => { status: number; reason?: string; headers?: Record<string, string> } | null) {
  const sent: Sent[] = [];
  const srf = {
    _app: { client: { mapServer: new Map([[{}, {}]]) } },
    // As drachtio-srf does when the echo and the answer share one TCP read: the
    // callback, then 'response' in the same tick.
    request: (_uri: string, opts: { headers: Record<string, string> }, cb: (err: Error | null, req: EventEmitter) => void) => {
      sent.push({ headers: opts.headers });
      const req = new EventEmitter();
      const a = answer(opts.headers, sent.length);
      cb(null, req);
      if (a) {
        req.emit('response', {
          status: a.status,
          reason: a.reason ?? 'OK',
          has: (n: string) => n in (a.headers ?? {}),
          get: (n: string) => (a.headers ?? {})[n],
        });
      }
    },
  };
  return { srf: srf as unknown as Srf, sent };
}

/** A logger whose lines the test reads back. */
function recordingLogger() {
  const lines: { msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { msg: string }) });
  return { log, messages: () => lines.map((l) => l.msg) };
}

/** `owner`: what the ownership check answers before each REGISTER the registration times itself. */
function registration(srf: Srf, clock: FakeClock, log: pino.Logger = silent, owner: () => boolean = () => true) {
  const results: [RegisterKind, RegisterResult][] = [];
  const states: boolean[] = [];
  const conflicts: (readonly string[] | null)[] = [];
  let checks = 0;
  const reg = new Registration(
    srf,
    { registrar: 'sip:127.0.0.20', aor: 'sip:appsrv@127.0.0.20', contact: OURS, username: 'appsrv', password: 'Tq7vLm2pXa', expires: 300, timeoutMs: 5000 },
    log,
    clock,
    { onResult: (k, r) => results.push([k, r]), onRegisteredChange: (v) => states.push(v), onConflict: (o) => conflicts.push(o) },
    async () => {
      checks += 1;
      return owner();
    },
  );
  return { reg, results, states, conflicts, checks: () => checks };
}

t.test('registers, then refreshes 30 s before the granted expiry', async (t) => {
  const clock = new FakeClock();
  const { srf, sent } = fakeSrf(() => ({ status: 200, headers: { Contact: `<${OURS}>;expires=120` } }));
  const { reg, states } = registration(srf, clock);
  t.match(await reg.keep(), { ok: true, grantedSec: 120 });
  t.strictSame(states, [true]);
  t.match(sent[0]?.headers, { Contact: `<${OURS}>`, Expires: '300', To: '<sip:appsrv@127.0.0.20>' });
  await clock.advance(89_000);
  t.equal(sent.length, 1, 'not yet');
  await clock.advance(1_000);
  t.equal(sent.length, 2, 'refreshed at 90 s');
  reg.release();
  await clock.advance(200_000);
  t.equal(sent.length, 2, 'no refresh after release');
});

t.test('423 raises the interval to Min-Expires and retries at once', async (t) => {
  const clock = new FakeClock();
  const { srf, sent } = fakeSrf((h) =>
    Number(h.Expires) < 600 ? { status: 423, reason: 'Interval Too Brief', headers: { 'Min-Expires': '600' } } : { status: 200 },
  );
  const { reg } = registration(srf, clock);
  t.match(await reg.keep(), { ok: true, grantedSec: 600 });
  t.strictSame(sent.map((s) => s.headers.Expires), ['300', '600']);
});

t.test('a refusal backs off 1 s, 2 s, 4 s and keeps the status line', async (t) => {
  const clock = new FakeClock();
  const { srf, sent } = fakeSrf(() => ({ status: 403, reason: 'Forbidden' }));
  const { log, messages } = recordingLogger();
  const { reg, results } = registration(srf, clock, log);
  t.match(await reg.keep(), { ok: false, status: 403, reason: '403 Forbidden' });
  t.ok(messages().includes('REGISTER refused by the IPBX: 403 Forbidden'), 'the IPBX\'s status line in the log');
  await clock.advance(1000);
  await clock.advance(2000);
  await clock.advance(4000);
  t.equal(sent.length, 4);
  t.ok(results.every(([k]) => k === 'register'));
  reg.release();
});

t.test('no answer counts as a failure after the REGISTER timeout, not Timer F', async (t) => {
  const clock = new FakeClock();
  const { srf } = fakeSrf(() => null);
  const { log, messages } = recordingLogger();
  const { reg } = registration(srf, clock, log);
  const p = reg.keep();
  await clock.advance(5000);
  t.match(await p, { ok: false, reason: /no final response within 5000 ms/ });
  t.ok(messages().includes('REGISTER failed: no final response within 5000 ms'), 'not blamed on the IPBX: it said nothing');
  reg.release();
});

t.test('clearing the AOR: query, then remove every binding but ours in one REGISTER', async (t) => {
  const clock = new FakeClock();
  const { srf, sent } = fakeSrf((h) =>
    h.Contact === undefined
      ? { status: 200, headers: { Contact: `<sip:appsrv@127.0.0.12:5060>;expires=100, "us" <${OURS}>;expires=50` } }
      : { status: 200 },
  );
  const { reg } = registration(srf, clock);
  t.match(await reg.clearAll(), { ok: true });
  t.equal(sent[0]?.headers.Contact, undefined, 'a query first');
  t.strictSame(sent[1]?.headers, {
    From: '<sip:appsrv@127.0.0.20>',
    To: '<sip:appsrv@127.0.0.20>',
    Contact: '<sip:appsrv@127.0.0.12:5060>;expires=0',
    Expires: '0',
  });
  t.equal(sent.length, 2);
});

t.test('unregister waits for a refresh in flight, then removes our binding', async (t) => {
  const clock = new FakeClock();
  const { srf, sent } = fakeSrf((h) => (h.Expires === '300' && sent.length > 1 ? null : { status: 200 }));
  const { reg, states } = registration(srf, clock);
  await reg.keep();
  // The next REGISTER (the refresh) hangs: unregister must not overtake it.
  await clock.advance(270_000);
  const un = reg.unregister();
  await clock.advance(5000); // the refresh times out
  t.match(await un, { ok: true });
  t.strictSame(sent.map((s) => s.headers.Expires), ['300', '300', '0']);
  t.equal(states.at(-1), false);
});

t.test('not connected to drachtio-server: a clear error, never an assertion', async (t) => {
  const clock = new FakeClock();
  const { srf } = fakeSrf(() => ({ status: 200 }));
  (srf as unknown as { _app: { client: { mapServer: Map<unknown, unknown> } } })._app.client.mapServer.clear();
  const { reg } = registration(srf, clock);
  t.match(await reg.keep(), { ok: false, reason: /not connected to drachtio-server/ });
  reg.release();
});

t.test('a registrar that keeps refusing: one line as it starts, a reminder every 5 min, one line with the duration as it ends', async (t) => {
  const clock = new FakeClock();
  let refusing = true;
  const { srf, sent } = fakeSrf(() => (refusing ? { status: 403, reason: 'Forbidden' } : { status: 200, headers: { Contact: `<${OURS}>;expires=300` } }));
  const { log, messages } = recordingLogger();
  const { reg, results } = registration(srf, clock, log);
  await reg.keep();
  // Over 10 minutes of retries, every 30 s once backed off.
  for (let i = 0; i < 22; i++) await clock.advance(30_000);
  const refusals = results.filter(([, r]) => !r.ok).length;
  t.ok(refusals >= 20, `the registrar refused ${refusals} times`);
  const lines = messages().filter((m) => m.includes('403'));
  t.equal(lines.length, 3, lines.join(' | '));
  t.equal(lines[0], 'REGISTER refused by the IPBX: 403 Forbidden');
  t.match(lines[1], /^still failing after 5 min \(\d+ failures\): REGISTER refused by the IPBX: 403 Forbidden$/);
  t.match(lines[2], /^still failing after 10 min \(\d+ failures\): REGISTER refused by the IPBX: 403 Forbidden$/);
  refusing = false;
  await clock.advance(30_000);
  t.ok(sent.length > refusals);
  t.ok(messages().some((m) => /^registration at the IPBX works again after 1[01] min \(\d+ failures\)$/.test(m)), messages().slice(-2).join(' | '));
  reg.release();
});

t.test('a refresh that keeps failing: registered until the granted lifetime has passed, then not, and still retrying', async (t) => {
  const clock = new FakeClock();
  let refusing = false;
  const { srf, sent } = fakeSrf(() => (refusing ? { status: 403, reason: 'Forbidden' } : { status: 200, headers: { Contact: `<${OURS}>;expires=60` } }));
  const { log, messages } = recordingLogger();
  const { reg, states, results } = registration(srf, clock, log);
  t.match(await reg.keep(), { ok: true, grantedSec: 60 });
  refusing = true;
  // Refresh at 30 s, retries 1, 2, 4, 8 s later: all refused, the binding still counts until 60 s.
  await clock.advance(59_999);
  t.ok(results.filter(([k, r]) => k === 'refresh' && !r.ok).length >= 4, 'refreshes refused');
  t.strictSame(states, [true], 'still registered one ms before the lifetime ends');
  t.equal(reg.registered, true);
  await clock.advance(1);
  t.strictSame(states, [true, false], 'gone once the lifetime has passed without a 2xx');
  t.equal(reg.registered, false);
  t.ok(messages().includes('our binding at the IPBX has lapsed: no REGISTER was accepted within its lifetime'));
  const before = sent.length;
  await clock.advance(30_000);
  t.ok(sent.length > before, 'still trying to register as owner');
  t.equal(results.at(-1)?.[0], 'register', 'a new registration, not a refresh');
  refusing = false;
  await clock.advance(30_000);
  t.strictSame(states, [true, false, true], 'registered again once the IPBX accepts');
  reg.release();
});

t.test('a binding lasts from when the REGISTER was sent, not from when the 2xx came back', async (t) => {
  const clock = new FakeClock();
  // The 2xx takes 4 s (an IPBX slow to answer); the registrar's 60 s started before it.
  const { srf } = fakeSrf(() => null);
  (srf as unknown as { request: unknown }).request = (_u: string, _o: unknown, cb: (e: null, r: EventEmitter) => void) => {
    const req = new EventEmitter();
    cb(null, req);
    clock.setTimer(4000, () =>
      req.emit('response', { status: 200, reason: 'OK', has: () => true, get: (n: string) => (n === 'Contact' ? `<${OURS}>;expires=60` : undefined) }),
    );
  };
  const { reg, states } = registration(srf, clock);
  const first = reg.keep();
  await clock.advance(4000);
  t.match(await first, { ok: true, grantedSec: 60 });
  reg.release(); // no refresh: the binding lapses on its own
  await clock.advance(55_999);
  t.strictSame(states, [true]);
  await clock.advance(1);
  t.strictSame(states, [true, false], 'lapsed 60 s after the REGISTER left');
});

t.test('another contact listed beside ours: step down, remove ours, leave theirs, raise the conflict', async (t) => {
  const clock = new FakeClock();
  const THEIRS = 'sip:appsrv@127.0.0.12:5060';
  let intruder = false;
  const { srf, sent } = fakeSrf((h) => {
    if (h.Expires === '0') return { status: 200 };
    return { status: 200, headers: { Contact: intruder ? `<${THEIRS}>;expires=250, <${OURS}>;expires=300` : `<${OURS}>;expires=300` } };
  });
  const { log, messages } = recordingLogger();
  const { reg, states, conflicts } = registration(srf, clock, log);
  t.match(await reg.keep(), { ok: true });
  intruder = true;
  await clock.advance(270_000); // the refresh
  t.strictSame(conflicts, [[THEIRS]], 'the conflict raised, naming the other contact');
  t.equal(reg.steppedDown, true);
  t.equal(reg.maintained, false, 'no longer maintaining the registration');
  t.strictSame(states, [true, false]);
  t.strictSame(sent.at(-1)?.headers, { From: '<sip:appsrv@127.0.0.20>', To: '<sip:appsrv@127.0.0.20>', Contact: `<${OURS}>`, Expires: '0' }, 'ours removed');
  t.notOk(sent.some((s) => s.headers.Contact?.includes(THEIRS)), 'theirs never touched');
  t.ok(messages().some((m) => m.startsWith(`another contact holds the AOR: ${THEIRS}; stepping down`)), 'says why');
  const count = sent.length;
  await clock.advance(600_000);
  t.equal(sent.length, count, 'never registers again by itself');
  t.match(await reg.keep(), { ok: false, reason: `another contact holds the AOR: ${THEIRS}` }, 'an explicit keep() tries again, and steps down again');
  intruder = false;
  t.match(await reg.keep(), { ok: true });
  t.equal(reg.steppedDown, false);
  t.strictSame(conflicts.at(-1), null, 'the conflict cleared once registered alone');
  reg.release();
});

t.test('a REGISTER the registration times itself waits for the ownership check; a node that no longer owns sends nothing', async (t) => {
  const clock = new FakeClock();
  let owner = true;
  const { srf, sent } = fakeSrf(() => ({ status: 200, headers: { Contact: `<${OURS}>;expires=120` } }));
  const { log, messages } = recordingLogger();
  const { reg, checks } = registration(srf, clock, log, () => owner);
  await reg.keep();
  t.equal(checks(), 0, 'a keep() asked for by the failover is not checked again');
  await clock.advance(90_000);
  t.equal(checks(), 1);
  t.equal(sent.length, 2, 'refreshed: still the owner');
  owner = false; // the peer took over while this process was frozen
  await clock.advance(90_000);
  t.equal(checks(), 2);
  t.equal(sent.length, 2, 'the overdue refresh is not sent');
  t.equal(reg.maintained, false);
  t.ok(messages().includes('no longer the owner: not sending the REGISTER that was due'));
  owner = true;
  await reg.keep();
  owner = false;
  reg.reassert(); // reconnected to drachtio-server after the freeze
  await clock.advance(0);
  t.equal(checks(), 3, 'a re-register after a reconnect asks too');
  t.equal(sent.length, 3, 'and is not sent');
});
