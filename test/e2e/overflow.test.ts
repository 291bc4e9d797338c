/**
 * The overflow agent on real SIP: drachtio-server, SIPp as the IPBX (registrar
 * and overflow caller), the primary and the local app, all on 127.0.0.x.
 */
import t from 'tap';
import { metricValue } from '../support/metrics';
import { waitFor } from '../support/processes';
import { call, e2e, finals, received, rig } from '../support/rig';
import { isRequest, registrarBindings, type Sipp, statusOf } from '../support/sipp';
import { type TlsRelay, tryWithoutClientCert } from '../support/tls';
import { contactOf, NET, sipsContactOf } from '../support/topology';

const UNPINGED = 'drachtio-srf sends no pings to this drachtio-server (its version string does not read vX.Y.Z); pinging it ourselves';

/**
 * These cases prove the verification a call runs for itself: the owner watch
 * (on by default) would otherwise have decided from its own probes first.
 */
const CALL_DRIVEN = { overrides: { verification: { watchOwner: false } } };

e2e(t, run);

function run(): void {
  t.test('a. primary answers OPTIONS: the caller is dissuaded, one verification cycle at most', async (t) => {
    const r = await rig(t, CALL_DRIVEN);
    const caller = call(NET.nodeB);
    t.equal(await caller.finished(20_000), 0, 'caller scenario succeeded');
    if (!t.strictSame(finals(caller), [486], 'the caller got 486 Busy Here')) {
      t.comment(JSON.stringify(r.agent.logs().filter((l) => l.verdict || (l.level as number) >= 40)));
      t.comment((r.primary as Sipp).messages().map((m) => `${m.direction} ${m.firstLine}`).join(' | '));
    }
    const cycles = r.agent.logs().filter((l) => typeof l.verdict === 'string' && l.joined === false && l.cached === false);
    t.equal(cycles.length, 1, 'one verification cycle');
    const probes = received(r.primary as Sipp, 'OPTIONS').length;
    t.ok(probes >= 1 && probes <= 3, `within it, at most \`attempts\` probes reached the primary (${probes}: ${JSON.stringify(cycles[0]?.probes)})`);
    t.equal(received(r.app, 'INVITE').length, 0, 'nothing reached the local app');
    t.equal(registrarBindings(r.registrar.messages()).length, 0, 'no REGISTER: the node stayed passive');
    const decision = await r.agent.waitForLog((l) => typeof l.verdict === 'string', 2000, 'a decision line');
    t.match(decision, { verdict: 'alive', action: 'dissuade', callId: /.+/ });
  });

  t.test('b. primary stopped: attempts unanswered probes, binding cleared, own contact registered, call bridged', async (t) => {
    const r = await rig(t, CALL_DRIVEN);
    (r.primary as Sipp).pause();
    const caller = call(NET.nodeB, 'caller.xml', { pauseMs: 300 });
    t.equal(await caller.finished(20_000), 0, 'caller scenario succeeded');
    t.strictSame(finals(caller), [200], 'the call was answered');
    t.ok(
      caller.messages().some((m) => m.direction === 'sent' && isRequest(m, 'BYE')),
      'the caller hung up with BYE',
    );
    const decision = await r.agent.waitForLog((l) => l.verdict === 'dead', 2000, 'the dead verdict');
    const probes = decision.probes as { outcome: string }[];
    t.equal(probes.length, 3, 'exactly `attempts` probes');
    t.ok(probes.every((p) => p.outcome === 'no-answer'), 'none answered');
    const history = registrarBindings(r.registrar.messages(), [contactOf(NET.nodeA)]);
    t.strictSame(history.map((h) => h.contacts), [[], [contactOf(NET.nodeB)]], 'primary binding removed, then our contact registered');
    t.ok(history.every((h) => h.contacts.length <= 1), 'never two contacts');
    const challenged = r.registrar.messages().filter((m) => m.direction === 'received' && isRequest(m, 'REGISTER') && m.header('Authorization'));
    t.ok(challenged.length >= 3, 'every REGISTER answered the digest challenge');
    await waitFor(() => received(r.app, 'BYE').length > 0, 2000, 'the BYE at the app');
    t.strictSame(
      ['INVITE', 'ACK', 'BYE'].map((m) => received(r.app, m).length),
      [1, 1, 1],
      'the app saw INVITE, ACK and BYE',
    );
    const metrics = (await r.agent.admin('/metrics')).text;
    for (const series of [
      'understudy_is_owner 1',
      'understudy_ownership_epoch 2',
      'understudy_registered 1',
      'understudy_takeovers_total{result="ok"} 1',
      'understudy_verifications_total{verdict="dead"} 1',
      'understudy_overflow_invites_total{outcome="taken_over"} 1',
      'understudy_probe_rtt_seconds_count{outcome="no-answer"} 3',
    ]) {
      t.ok(metrics.split('\n').includes(series), `metrics: ${series}`);
    }
  });

  t.test('c. 100 overflow calls at 50/s while the primary is alive: all dissuaded', async (t) => {
    const r = await rig(t, CALL_DRIVEN);
    const caller = call(NET.nodeB, 'caller.xml', { calls: 100, rate: 50 });
    t.equal(await caller.finished(30_000), 0, 'every call of the run succeeded');
    const codes = finals(caller);
    t.equal(codes.length, 100);
    t.ok(codes.every((c) => c === 486), `all 100 got 486 (${JSON.stringify(Object.fromEntries(codes.map((c) => [c, codes.filter((x) => x === c).length])))})`);
    if (!codes.every((c) => c === 486)) t.comment(JSON.stringify(r.agent.logs().filter((l) => l.level !== 30 || l.verdict).slice(0, 12)));
    const probes = received(r.primary as Sipp, 'OPTIONS').length;
    const cycles = r.agent.logs().filter((l) => typeof l.verdict === 'string' && l.joined === false && l.cached === false).length;
    t.comment(`100 calls: ${cycles} verification cycle(s), ${probes} probe(s) reached the primary`);
    t.equal(cycles, 1, 'one verification cycle: the other calls joined it or used the cached verdict');
    const metrics = (await r.agent.admin('/metrics')).text.split('\n');
    t.ok(metrics.includes('understudy_verifications_total{verdict="alive"} 1'), 'the metric counts cycles, not calls');
    t.ok(metrics.includes('understudy_overflow_invites_total{outcome="dissuaded"} 100'), 'and every call dissuaded');
    t.ok(probes >= 1 && probes <= 3, `at most \`attempts\` probes (got ${probes})`);
  });

  t.test('c. with the owner watch (default), 100 overflow calls at 50/s while the primary answers: all dissuaded, none probes for itself', async (t) => {
    const r = await rig(t);
    await waitFor(() => received(r.primary as Sipp, 'OPTIONS').length >= 2, 3000, 'the watch to probe the owner');
    const caller = call(NET.nodeB, 'caller.xml', { calls: 100, rate: 50 });
    t.equal(await caller.finished(30_000), 0, 'every call of the run succeeded');
    const codes = finals(caller);
    t.ok(codes.length === 100 && codes.every((c) => c === 486), 'all 100 got 486');
    const decisions = r.agent.logs().filter((l) => typeof l.verdict === 'string');
    t.equal(decisions.length, 100);
    t.ok(decisions.every((l) => l.cached === true), 'every call decided from the watch, no cycle of its own');
    // The watch probes every intervalMs (200 ms here) whatever the calls: about 2 s of calls, 10 periods.
    const options = received(r.primary as Sipp, 'OPTIONS');
    const during = options.filter((m) => m.at >= (caller.messages()[0]?.at ?? 0));
    t.ok(during.length <= 12, `the OPTIONS follow the watch's pace, not the calls (${during.length} during the run)`);
  });

  t.test('d. owner: registers at start, bridges a call end to end', async (t) => {
    const r = await rig(t, { owner: true });
    await r.agent.waitForLog((l) => l.msg === 'REGISTER accepted' && l.kind === 'register', 5000, 'the registration');
    t.strictSame(registrarBindings(r.registrar.messages()).map((h) => h.contacts), [[contactOf(NET.nodeA)]]);
    const caller = call(NET.nodeA, 'caller.xml', { pauseMs: 300 });
    t.equal(await caller.finished(20_000), 0);
    t.strictSame(finals(caller), [200]);
    await waitFor(() => received(r.app, 'BYE').length > 0, 2000, 'the BYE at the app');
    t.strictSame(['INVITE', 'ACK', 'BYE'].map((m) => received(r.app, m).length), [1, 1, 1]);
  });

  t.test('d. owner: CANCEL before answer gives 487 to the caller and CANCEL at the app', async (t) => {
    const r = await rig(t, { owner: true, app: 'app-uas-cancel.xml' });
    const caller = call(NET.nodeA, 'caller-cancel.xml', { pauseMs: 500 });
    t.equal(await caller.finished(20_000), 0, 'caller scenario succeeded');
    t.ok(finals(caller).includes(487), 'the caller got 487');
    await waitFor(() => received(r.app, 'CANCEL').length > 0, 2000, 'the CANCEL at the app');
    t.equal(received(r.app, 'CANCEL').length, 1, 'the app got the CANCEL');
  });

  t.test('e. malformed SDP: 488 and nothing reaches the app', async (t) => {
    const r = await rig(t, { owner: true });
    const caller = call(NET.nodeA, 'caller-bad-sdp.xml');
    t.equal(await caller.finished(20_000), 0);
    t.strictSame(finals(caller), [488]);
    t.equal(received(r.app, 'INVITE').length, 0);
    await r.agent.waitForLog((l) => l.msg === 'INVITE refused with 488', 2000, 'the 488 log line');
  });

  t.test('e2. non-owner, owner alive: an INVITE with a bad offer is dissuaded like any other (the offer is looked at only before bridging)', async (t) => {
    const r = await rig(t);
    const caller = call(NET.nodeB, 'caller-bad-sdp.xml');
    t.equal(await caller.finished(20_000), 0);
    t.strictSame(finals(caller), [486], 'back to the IPBX, which places it with the owner');
    t.equal(received(r.app, 'INVITE').length, 0);
    const m = (await r.agent.admin('/metrics')).text;
    t.equal(metricValue(m, 'understudy_sip_rejected_total', 'reason="bad_sdp"'), 0, 'not refused for its offer');
    t.equal(metricValue(m, 'understudy_overflow_invites_total', 'outcome="dissuaded"'), 1);
  });

  t.test('f. the registrar answers 403: no takeover, the caller is dissuaded, the reason logged', async (t) => {
    const r = await rig(t, { registrarPassword: 'Wr0ngPassw0rdX' });
    (r.primary as Sipp).pause();
    const caller = call(NET.nodeB);
    t.equal(await caller.finished(20_000), 0);
    t.strictSame(finals(caller), [486]);
    t.equal(received(r.app, 'INVITE').length, 0, 'nothing bridged');
    const failed = await r.agent.waitForLog((l) => l.msg === 'takeover failed; call dissuaded, node stays passive', 2000, 'the refusal');
    t.match(String(failed.reason), /403 Forbidden/);
    const status = await r.agent.admin('/status');
    t.match(status.body, { isOwner: false, registered: false, owner: 'node-a' });
  });

  t.test('g. drachtio-server restarted: the owner reconnects and registers again at once', async (t) => {
    const r = await rig(t, { owner: true });
    await r.agent.waitForLog((l) => l.msg === 'REGISTER accepted' && l.kind === 'register', 5000, 'the first registration');
    const before = registrarBindings(r.registrar.messages()).length;
    await r.drachtio.restart();
    await waitFor(() => r.agent.logs().filter((l) => l.msg === 'connected to drachtio-server').length === 2, 10_000, 'the reconnect');
    await waitFor(() => registrarBindings(r.registrar.messages()).length > before, 5000, 'a new REGISTER after the reconnect');
    t.ok(r.agent.logs().some((l) => l.msg === 'lost the connection to drachtio-server; reconnecting'), 'the loss was logged');
    const caller = call(NET.nodeA);
    t.equal(await caller.finished(20_000), 0);
    t.strictSame(finals(caller), [200], 'calls are bridged again');
  });

  t.test('h. CANCEL during verification: the work for that call stops, no second final response', async (t) => {
    const r = await rig(t, CALL_DRIVEN);
    (r.primary as Sipp).pause(); // a full 3-probe cycle takes 3.4 s
    const caller = call(NET.nodeB, 'caller-cancel-early.xml', { pauseMs: 500 });
    t.equal(await caller.finished(20_000), 0, 'caller scenario succeeded');
    t.strictSame(finals(caller), [487], 'one final response to the INVITE: 487');
    await r.agent.waitForLog((l) => l.msg === 'caller cancelled during verification; work for this call stopped', 5000, 'the cancel');
    t.equal(received(r.app, 'INVITE').length, 0, 'nothing bridged for the cancelled call');
    // A cycle still running for nobody would be joined by the next overflow call and
    // would have spent part of its probes before it: the next call must start afresh.
    const next = call(NET.nodeB);
    const nextSent = Date.now();
    t.equal(await next.finished(20_000), 0);
    t.strictSame(finals(next), [200], 'the next overflow call verifies, takes over and is bridged');
    const decisions = r.agent.logs().filter((l) => typeof l.verdict === 'string');
    t.equal(decisions.length, 1, 'one decision: the cancelled call made none');
    t.match(decisions[0], { verdict: 'dead', joined: false, cached: false });
    const probes = (decisions[0]?.probes ?? []) as { at: number }[];
    t.equal(probes.length, 3, 'three probes of its own');
    t.ok(probes.every((p) => p.at >= nextSent - 50), 'every probe sent after the next call arrived');
    t.equal(received(r.app, 'INVITE').length, 1, 'only the next call reached the app');
    const metrics = (await r.agent.admin('/metrics')).text.split('\n');
    t.ok(metrics.includes('understudy_overflow_invites_total{outcome="cancelled"} 1'), 'counted as cancelled');
    t.ok(metrics.includes('understudy_overflow_invites_total{outcome="taken_over"} 1'), 'and one takeover, by the next call');
  });

  t.test('i. drachtio-server frozen a while: link down at once, the same connection resumes when it thaws', async (t) => {
    const r = await rig(t, { owner: true });
    await r.agent.waitForLog((l) => l.msg === 'REGISTER accepted' && l.kind === 'register', 5000, 'the first registration');
    const before = registrarBindings(r.registrar.messages()).length;
    // No FIN, no RST: only the missing answers to pings can tell.
    r.drachtio.pause();
    await r.agent.waitForLog((l) => l.msg === 'drachtio-server stopped answering pings; link down, connection kept', 30_000, 'the watchdog');
    t.equal((await r.agent.admin('/readyz')).status, 503, 'not ready while drachtio-server is silent');
    r.drachtio.resume();
    await r.agent.waitForLog((l) => l.msg === 'drachtio-server answers again on the same connection', 5000, 'the thaw');
    t.equal(r.agent.logs().filter((l) => l.msg === 'connected to drachtio-server').length, 1, 'no second connection');
    await waitFor(() => registrarBindings(r.registrar.messages()).length > before, 5000, 'a new REGISTER after the thaw');
    t.equal((await r.agent.admin('/readyz')).status, 200, 'ready again');
    // drachtio-server still routes to one connection only, so every call reaches the agent.
    const caller = call(NET.nodeA, 'caller.xml', { calls: 4, rate: 10 });
    t.equal(await caller.finished(20_000), 0);
    t.strictSame(finals(caller), [200, 200, 200, 200], 'calls are bridged again');
    // A server reporting its release version is pinged by drachtio-srf itself.
    t.notOk(r.agent.logs().some((l) => l.msg === UNPINGED), 'the agent did not have to ping it');
    t.ok((await r.agent.admin('/metrics')).text.split('\n').includes('understudy_alarm{alarm="drachtio_unpinged"} 0'), 'no drachtio_unpinged alarm');
  });

  t.test('m. a drachtio-server reporting version 1.0.0 (never pinged by drachtio-srf): the agent pings it, raises the alarm, and still sees it freeze', async (t) => {
    const r = await rig(t, { owner: true, serverVersion: '1.0.0' });
    const connected = await r.agent.waitForLog((l) => l.msg === 'connected to drachtio-server', 5000, 'the connection');
    t.equal(connected.serverVersion, '1.0.0', 'the relay made the server report 1.0.0');
    const noticed = await r.agent.waitForLog((l) => l.msg === UNPINGED, 15_000, 'the agent to notice nobody pings');
    const after = Date.parse(String(noticed.time)) - Date.parse(String(connected.time));
    // Two ping intervals (5 s each, drachtio-srf's minimum) plus at most one watchdog tick (1 s).
    t.ok(after >= 10_000 && after <= 11_500, `noticed ${after} ms after connecting: two ping intervals`);
    t.equal(noticed.serverVersion, '1.0.0', 'the log names the version string');
    t.ok((await r.agent.admin('/metrics')).text.split('\n').includes('understudy_alarm{alarm="drachtio_unpinged"} 1'), 'alarm raised');
    r.drachtio.pause();
    await r.agent.waitForLog((l) => l.msg === 'drachtio-server stopped answering pings; link down, connection kept', 30_000, 'the watchdog on our own pings');
    t.equal((await r.agent.admin('/readyz')).status, 503, 'not ready while drachtio-server is silent');
    r.drachtio.resume();
    await r.agent.waitForLog((l) => l.msg === 'drachtio-server answers again on the same connection', 10_000, 'the thaw');
    t.equal((await r.agent.admin('/readyz')).status, 200, 'ready again');
  });

  t.test('l. drachtio-server frozen past replaceSilentAfterMs: the connection is replaced, the owner registers on the new one', async (t) => {
    const r = await rig(t, { owner: true, overrides: { drachtio: { replaceSilentAfterMs: 2000 } } });
    await r.agent.waitForLog((l) => l.msg === 'REGISTER accepted' && l.kind === 'register', 5000, 'the first registration');
    const before = registrarBindings(r.registrar.messages()).length;
    r.drachtio.pause();
    const replaced = await r.agent.waitForLog((l) => l.msg === 'drachtio-server still silent; replacing the connection', 35_000, 'the replacement');
    const silent = r.agent.logs().find((l) => l.msg === 'drachtio-server stopped answering pings; link down, connection kept');
    t.ok(silent && Date.parse(String(replaced.time)) - Date.parse(String(silent.time)) >= 2000, 'replaced replaceSilentAfterMs after the link went down');
    r.drachtio.resume();
    await waitFor(() => r.agent.logs().filter((l) => l.msg === 'connected to drachtio-server').length === 2, 15_000, 'the new connection');
    await waitFor(() => registrarBindings(r.registrar.messages()).length > before, 5000, 'a REGISTER on the new connection');
    t.equal((await r.agent.admin('/readyz')).status, 200, 'ready again');
  });

  t.test('j. the registrar finds the interval too brief: 423 Min-Expires honoured, registered at the asked interval', async (t) => {
    const r = await rig(t, { owner: true, overrides: { ipbx: { expires: 30 } } });
    const accepted = await r.agent.waitForLog((l) => l.msg === 'REGISTER accepted' && l.kind === 'register', 5000, 'the registration');
    t.equal(accepted.grantedSec, 60, 'granted the registrar\'s minimum');
    t.ok(r.agent.logs().some((l) => l.msg === 'registrar asked for a longer interval (423); retrying' && l.minExpires === 60), 'the 423 was logged');
    const msgs = r.registrar.messages();
    const registers = msgs.filter((m) => m.direction === 'received' && isRequest(m, 'REGISTER') && m.header('Authorization') && m.header('Contact'));
    t.strictSame(
      registers.map((m) => m.header('Expires')),
      ['30', '60'],
      'the refused interval, then the minimum',
    );
    t.equal(msgs.filter((m) => m.direction === 'sent' && statusOf(m) === 423).length, 1, 'one 423');
    t.strictSame(registrarBindings(msgs).at(-1)?.contacts, [contactOf(NET.nodeA)]);
  });

  t.test('k. SIP over TLS to the registrar: sips: URIs, REGISTER and digest carried by drachtio-server\'s TLS transport', async (t) => {
    const r = await rig(t, { owner: true, tls: {} });
    await r.agent.waitForLog((l) => l.msg === 'REGISTER accepted' && l.kind === 'register', 8000, 'the registration over TLS');
    const relay = r.tlsRelay as TlsRelay;
    t.ok(relay.sessions() >= 1, `the registrar was reached through TLS (${relay.protocols().join(', ')})`);
    const registers = r.registrar.messages().filter((m) => m.direction === 'received' && isRequest(m, 'REGISTER'));
    t.ok(registers.length >= 2, 'the challenge and the authorized REGISTER');
    t.ok(registers.every((m) => /^SIP\/2\.0\/TLS /.test(m.header('Via') ?? '')), `every REGISTER came over TLS (${registers[0]?.header('Via')})`);
    t.ok(registers.every((m) => m.firstLine.startsWith(`REGISTER sips:${NET.registrar}:${NET.sipsPort} `)), 'to the sips: registrar URI');
    t.ok(registers.some((m) => m.header('Authorization')), 'the digest answered');
    t.strictSame(registrarBindings(r.registrar.messages()).map((h) => h.contacts), [[sipsContactOf(NET.nodeA)]], 'the sips: contact bound');
    t.match((await r.agent.admin('/status')).body, { registered: true, isOwner: true });
    t.equal(await tryWithoutClientCert(NET.nodeA, NET.sipsPort), 'accepted', 'unverified both ways: a TLS client without a certificate is accepted too');
  });

  t.test('n. TLS to the registrar verified: a certificate from the CA drachtio-server trusts registers, any other is refused before REGISTER', async (t) => {
    t.test('the registrar\'s CA in the chain file: registered over TLS', async (t) => {
      const r = await rig(t, { owner: true, tls: { verify: 'registrar-ca' } });
      await r.agent.waitForLog((l) => l.msg === 'REGISTER accepted' && l.kind === 'register', 8000, 'the registration over verified TLS');
      t.ok(r.registrar.messages().some((m) => m.direction === 'received' && isRequest(m, 'REGISTER') && m.header('Authorization')), 'the digest answered');
      // drachtio-server has one switch for both directions: whoever opens TLS to it must present a certificate from the same CAs.
      t.match(await tryWithoutClientCert(NET.nodeA, NET.sipsPort), /^refused: /, 'a TLS client without a certificate is refused');
    });
    t.test('the name is not checked: a certificate of the trusted CA for another name registers too', async (t) => {
      const r = await rig(t, { owner: true, tls: { verify: 'registrar-ca', registrarName: 'not-the-registrar.example' } });
      await r.agent.waitForLog((l) => l.msg === 'REGISTER accepted' && l.kind === 'register', 8000, 'the registration despite the name');
      t.pass('drachtio-server sets no TPTLS_VERIFY_SUBJECTS_OUT: the chain is checked, the name is not');
    });
    t.test('another CA in the chain file: the TLS session is dropped, no REGISTER reaches the registrar, the owner stays unregistered', async (t) => {
      const r = await rig(t, { owner: true, tls: { verify: 'another-ca' } });
      const failed = await r.agent.waitForLog((l) => /^REGISTER failed/.test(l.msg ?? ''), 15_000, 'the failed registration');
      t.comment(`the agent says: ${failed.msg} (kind ${String(failed.kind)})`);
      const relay = r.tlsRelay as TlsRelay;
      t.equal(relay.sessions(), 0, 'no TLS session completed');
      t.match(relay.failedHandshakes(), [/alert|certificate|unknown ca/i], `drachtio-server reached the registrar's TLS port and refused its certificate (${relay.failedHandshakes().join('; ')})`);
      t.equal(r.registrar.messages().filter((m) => m.direction === 'received' && isRequest(m, 'REGISTER')).length, 0, 'no REGISTER got through');
      t.notOk(r.agent.logs().some((l) => l.msg === 'REGISTER accepted'), 'never registered');
      t.match((await r.agent.admin('/status')).body, { isOwner: true, registered: false }, 'the owner shows unregistered');
    });
  });
}
