/**
 * The owner's bridge on real SIP under the faults a pair meets in production:
 * both ends hanging up at once, an app that rings and never answers, DTMF sent
 * as SIP INFO. drachtio-server, SIPp as the caller and the local app.
 */
import t, { type Test } from 'tap';
import { agentMetric } from '../support/metrics';
import { waitFor } from '../support/processes';
import { call, e2e, finals, received, type Rig, rig } from '../support/rig';
import { isRequest, type Sipp, statusOf } from '../support/sipp';
import { NET } from '../support/topology';

e2e(t, run);

const activeCalls = (r: Rig) => agentMetric(r.agent, 'understudy_active_calls');

/** Whether the agent process is still running, kept up to date. */
function watchAlive(r: Rig): () => boolean {
  let alive = true;
  void r.agent.proc.exited.then(() => (alive = false));
  return () => alive;
}

const sentResponses = (s: Sipp, method: string, status: number) =>
  s.messages().filter((m) => m.direction === 'sent' && statusOf(m) === status && m.header('CSeq')?.endsWith(method));

/** Waits for the SIPp caller; on a failed call, its own account of why. */
async function succeeded(t: Test, caller: Sipp): Promise<void> {
  const code = await caller.finished(40_000);
  if (!t.equal(code, 0, 'every call of the run succeeded')) t.comment(caller.proc.output().slice(-3000));
}

/** Calls (by Call-ID) with a BYE in either direction. */
const byeSeen = (s: Sipp) => new Set(s.messages().filter((m) => isRequest(m, 'BYE')).map((m) => m.header('Call-ID')));

/** Polls the gauge until it reads 0 (bounded), then asserts on what it read last. */
async function drained(t: Test, r: Rig): Promise<void> {
  let last = NaN;
  await waitFor(async () => (last = await activeCalls(r)) === 0, 5000, 'understudy_active_calls back to 0').catch(() => undefined);
  t.equal(last, 0, 'understudy_active_calls is back to 0');
}

async function registered(r: Rig): Promise<void> {
  await r.agent.waitForLog((l) => l.msg === 'REGISTER accepted' && l.kind === 'register', 5000, 'the registration');
}

function run(): void {
  t.test('both sides hang up at once on 300 calls: the agent stays up and every channel comes back', async (t) => {
    const r = await rig(t, { owner: true, app: 'app-uas-bye-at-once.xml', appPauseMs: 0 });
    const alive = watchAlive(r);
    await registered(r);
    const caller = call(NET.nodeA, 'caller-bye-at-once.xml', { calls: 300, rate: 100 });
    // SIPp fails a call whose BYE from the agent (relaying the app's) comes before
    // its own BYE went out, though it answers that BYE 200: a correct end here.
    // An overrun is reported by what follows (the agent stopped, channels held).
    await caller.finished(40_000).catch((err: unknown) => t.comment(String(err).slice(0, 200)));
    const codes = finals(caller);
    t.equal(codes.filter((c) => c === 200).length, 300, 'all 300 answered');
    t.equal(byeSeen(caller).size, 300, 'every call ended at the caller: its BYE or the agent\'s');
    t.equal(received(r.app, 'INVITE').length, 300, 'each reached the app');
    await drained(t, r);
    t.ok(alive(), 'the agent process is still running');
    t.equal((await r.agent.admin('/healthz')).status, 200, '/healthz answers 200');
    const refused = r.agent.logs().filter((l) => l.msg === 'BYE not sent: that leg had already ended').length;
    t.comment(`300 calls, both ends hanging up at once: ${refused} BYE(s) refused by drachtio-server, handled`);
  });

  t.test('the caller hangs up right after the ACK on 300 calls at 150/s: every call ends at the app too', async (t) => {
    const r = await rig(t, { owner: true, appPauseMs: 0 });
    await registered(r);
    const caller = call(NET.nodeA, 'caller-bye-at-once.xml', { calls: 300, rate: 150 });
    await succeeded(t, caller);
    const completed = byeSeen(caller).size;
    t.equal(completed, 300, 'the caller completed 300 calls');
    await waitFor(() => byeSeen(r.app).size >= completed, 5000, 'a BYE at the app for every call').catch(() => undefined);
    t.equal(byeSeen(r.app).size, completed, 'every call the caller completed is completed at the app');
    await drained(t, r);
  });

  t.test('the app rings and never answers: 480 to the caller after app.answerTimeoutMs, INVITE cancelled, channel freed', async (t) => {
    const r = await rig(t, { owner: true, app: 'app-uas-cancel.xml', overrides: { app: { answerTimeoutMs: 1500 } } });
    await registered(r);
    const caller = call(NET.nodeA, 'caller.xml');
    t.equal(await caller.finished(20_000), 0, 'caller scenario succeeded');
    t.strictSame(finals(caller), [480], 'the caller got 480');
    const invite = caller.messages().find((m) => m.direction === 'sent' && isRequest(m, 'INVITE'));
    const final = caller.messages().find((m) => m.direction === 'received' && statusOf(m) === 480);
    const waited = (final?.at ?? NaN) - (invite?.at ?? NaN);
    t.ok(waited >= 1500 && waited < 2500, `after answerTimeoutMs and not much later (${Math.round(waited)} ms)`);
    await waitFor(() => sentResponses(r.app, 'INVITE', 487).length === 1, 2000, 'the app to end its INVITE with 487');
    t.equal(received(r.app, 'CANCEL').length, 1, 'the app got the CANCEL');
    t.equal(finals(caller).length, 1, 'the CANCEL\'s 487 was not relayed on top');
    await drained(t, r);
    await r.agent.waitForLog((l) => l.msg === 'the local app did not answer in time: 480 to the caller, INVITE cancelled', 2000, 'the log line');
  });

  t.test("DTMF as SIP INFO: the caller's INFO reaches the app and the app's answer comes back", async (t) => {
    const r = await rig(t, { owner: true, app: 'app-uas-info.xml' });
    await registered(r);
    const caller = call(NET.nodeA, 'caller-info.xml', { pauseMs: 200 });
    t.equal(await caller.finished(20_000), 0, 'caller scenario succeeded');
    const infos = received(r.app, 'INFO');
    t.equal(infos.length, 1, 'the INFO reached the app');
    t.equal(infos[0]?.header('Content-Type'), 'application/dtmf-relay', 'with its content type');
    t.match(infos[0]?.raw, /Signal=5\nDuration=160/, 'and its body');
    const answer = caller.messages().filter((m) => m.direction === 'received' && m.header('CSeq')?.endsWith('INFO'));
    t.strictSame(answer.map((m) => m.firstLine), ['SIP/2.0 200 Digit Received'], "the caller got the app's own answer");
  });

  t.test('drachtio-server restarted with calls up: their channels are freed at once, and calls are bridged again', async (t) => {
    const r = await rig(t, { owner: true });
    await registered(r);
    // The callers would hang up only after 15 s: long after the restart.
    const held = call(NET.nodeA, 'caller.xml', { calls: 3, rate: 10, pauseMs: 15_000 });
    const start = Date.now();
    // Answered by the app, and so joined: a setup is counted once its B leg is answered.
    await waitFor(async () => (await agentMetric(r.agent, 'understudy_call_setup_seconds_count')) === 3, 5000, 'three calls up');
    t.equal(await activeCalls(r), 3, 'three channels taken');
    await r.drachtio.restart();
    await waitFor(() => r.agent.logs().filter((l) => l.msg === 'connected to drachtio-server').length === 2, 10_000, 'the reconnect');
    await drained(t, r);
    t.ok(Date.now() - start < 15_000, `freed before any caller hung up (${Date.now() - start} ms)`);
    t.equal(r.agent.logs().filter((l) => l.msg === 'call ended' && l.by === 'connection_lost').length, 3, 'each call forgotten once');
    await held.stop(); // it holds the caller's port; its calls are gone with the old server
    const caller = call(NET.nodeA, 'caller.xml');
    t.equal(await caller.finished(20_000), 0, 'the new caller scenario succeeded');
    t.strictSame(finals(caller), [200], 'a new call is bridged');
  });

  t.test('overload.maxCallsPerSecond: a burst past it gets 503 at once, counted, and never reaches the app', async (t) => {
    const perSecond = 5;
    const r = await rig(t, { owner: true, overrides: { overload: { maxCallsPerSecond: perSecond } } });
    await registered(r);
    const burst = call(NET.nodeA, 'caller.xml', { calls: 20, rate: 100, pauseMs: 0 });
    await burst.finished(30_000);
    const codes = finals(burst);
    const admitted = codes.filter((c) => c === 200).length;
    const invites = burst.messages().filter((m) => m.direction === 'sent' && isRequest(m, 'INVITE'));
    const spanS = ((invites.at(-1)?.at ?? NaN) - (invites[0]?.at ?? NaN)) / 1000;
    // The bucket holds a fifth of a second's worth (at least 1) and refills at perSecond.
    const most = Math.max(1, perSecond / 5) + Math.ceil(perSecond * spanS);
    t.comment(`20 INVITEs over ${spanS.toFixed(3)} s: ${admitted} bridged, at most ${most} allowed`);
    t.equal(codes.length, 20, 'every call got one final response');
    t.ok(admitted >= 1 && admitted <= most, `${admitted} bridged, between 1 and ${most}`);
    t.strictSame(codes.filter((c) => c !== 200 && c !== 503), [], 'the others got 503');
    t.equal(received(r.app, 'INVITE').length, admitted, 'only the admitted reached the app');
    t.equal(await agentMetric(r.agent, 'understudy_sip_rejected_total', 'reason="overload"'), 20 - admitted, 'each shed call counted');
  });

}
