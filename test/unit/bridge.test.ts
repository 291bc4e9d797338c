import { EventEmitter } from 'node:events';
import pino from 'pino';
import t from 'tap';
import { joinLegs, type LegContext } from '../../src/sip/bridge';
import type { Dialog, SipRequest, SipResponse } from '../../src/sip/srf';
import { FakeClock, flush } from '../support/fake-clock';

const silent = pino({ level: 'silent' });

interface SentRequest {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** A message as drachtio-srf hands it over: headers by name, a body. */
function message(headers: Record<string, string>, body = '', extra: Record<string, unknown> = {}) {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { body, has: (n: string) => lower.has(n.toLowerCase()), get: (n: string) => lower.get(n.toLowerCase()), ...extra };
}

/** One leg of a call as drachtio-srf's Dialog behaves: destroy() returns a promise, `connected` drops with the dialog. */
class FakeLeg extends EventEmitter {
  connected = true;
  byes = 0;
  readonly requests: SentRequest[] = [];
  readonly reinvites: (string | { noAck: true })[] = [];
  /** What the far end of this leg does with a request sent on it. */
  answer: (req: SentRequest) => Promise<ReturnType<typeof message> & { status: number; reason: string }> = () => new Promise(() => undefined);
  reoffer: (sdp: string | { noAck: true }) => Promise<unknown> = () => new Promise(() => undefined);

  constructor(private readonly byeRejects = false) {
    super();
  }

  destroy(): Promise<void> {
    this.byes += 1;
    this.connected = false;
    // drachtio-srf's rejection when drachtio-server no longer knows the dialog.
    return this.byeRejects ? Promise.reject(new Error('dialog not found')) : Promise.resolve();
  }

  request(opts: SentRequest) {
    this.requests.push(opts);
    return this.answer(opts);
  }

  modify(sdp: string | { noAck: true }) {
    this.reinvites.push(sdp);
    return this.reoffer(sdp);
  }

  get dialog(): Dialog {
    return this as unknown as Dialog;
  }
}

/** A server transaction: what was sent on it. */
function response() {
  const sent: { status: number; reason?: string; headers?: Record<string, string>; body?: string }[] = [];
  const res = {
    send(status: number, a?: string | { headers?: Record<string, string>; body?: string }, b?: { headers?: Record<string, string>; body?: string }) {
      const opts = typeof a === 'string' ? b : a;
      sent.push({ status, ...(typeof a === 'string' ? { reason: a } : {}), ...(opts?.headers ? { headers: opts.headers } : {}), ...(opts?.body ? { body: opts.body } : {}) });
    },
  };
  return { sent, res: res as unknown as SipResponse };
}

function call(o: { callerByeRejects?: boolean; appByeRejects?: boolean; maxCallDurationMs?: number; log?: pino.Logger } = {}) {
  const clock = new FakeClock();
  const caller = new FakeLeg(o.callerByeRejects);
  const app = new FakeLeg(o.appByeRejects);
  let ends = 0;
  const ctx: LegContext = {
    clock,
    log: o.log ?? silent,
    setupMs: 12,
    maxCallDurationMs: o.maxCallDurationMs ?? 0,
    inDialogTimeoutMs: 5000,
    onEnd: () => (ends += 1),
    onRefer: () => undefined,
  };
  return { clock, caller, app, ctx, ends: () => ends };
}

/** Unhandled rejections while `fn` runs: one stops the agent (cli.ts exits on it). */
async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    await fn();
    await flush(5);
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  return seen;
}

t.test('both sides hang up at once: the BYE to the app fails, nothing is left unhandled, the channel is freed once', async (t) => {
  const c = call({ appByeRejects: true });
  joinLegs(c.caller.dialog, c.app.dialog, c.ctx);
  const unhandled = await unhandledDuring(async () => {
    c.caller.connected = false;
    c.caller.emit('destroy');
    // The app's own BYE, handled by drachtio-srf while ours was refused.
    c.app.connected = false;
    c.app.emit('destroy');
  });
  t.strictSame(unhandled, [], 'no unhandled rejection');
  t.equal(c.app.byes, 1, 'a BYE was attempted towards the app');
  t.equal(c.caller.byes, 0, 'none back to the caller, who hung up');
  t.equal(c.ends(), 1, 'the channel is freed exactly once');
});

t.test("the call's one info line, at its end, says who ended it, its setup time and its duration", async (t) => {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const c = call({ log });
  joinLegs(c.caller.dialog, c.app.dialog, c.ctx);
  await c.clock.advance(2500);
  c.caller.connected = false;
  c.caller.emit('destroy');
  await flush();
  t.match(lines, [{ msg: 'call ended', by: 'caller', setupMs: 12, durationMs: 2500 }]);
  t.equal(lines.length, 1);
});

t.test('a BYE handled before the legs were joined still frees the channel and hangs up the app', async (t) => {
  const c = call();
  // drachtio-srf ended the caller's dialog in the same read as the 200's confirmation, emitting 'destroy' to nobody.
  c.caller.connected = false;
  joinLegs(c.caller.dialog, c.app.dialog, c.ctx);
  await flush();
  t.equal(c.ends(), 1, 'the channel is freed');
  t.equal(c.app.byes, 1, 'the app gets its BYE');
  t.equal(c.caller.byes, 0);
});

t.test('the same for the app leg ending first', async (t) => {
  const c = call();
  c.app.connected = false;
  joinLegs(c.caller.dialog, c.app.dialog, c.ctx);
  await flush();
  t.equal(c.ends(), 1);
  t.strictSame([c.caller.byes, c.app.byes], [1, 0], 'the caller gets the BYE');
});

t.test('DTMF as SIP INFO from the caller reaches the app, and the app\'s answer comes back', async (t) => {
  const c = call();
  c.app.answer = () => Promise.resolve({ ...message({}), status: 200, reason: 'OK' });
  joinLegs(c.caller.dialog, c.app.dialog, c.ctx);
  const { sent, res } = response();
  const dtmf = 'Signal=5\r\nDuration=160\r\n';
  c.caller.emit('info', message({ 'Content-Type': 'application/dtmf-relay', 'Call-ID': 'not relayed' }, dtmf) as unknown as SipRequest, res);
  await flush();
  t.strictSame(c.app.requests, [{ method: 'INFO', headers: { 'Content-Type': 'application/dtmf-relay' }, body: dtmf }], 'relayed with its body and content type only');
  t.strictSame(sent, [{ status: 200, reason: 'OK', headers: {} }], "the app's 200 answers the caller");
});

t.test("the app's refusal of an UPDATE goes back with its status, body and content type", async (t) => {
  const c = call();
  c.caller.answer = () => Promise.resolve({ ...message({ 'Content-Type': 'text/plain' }, 'no'), status: 488, reason: 'Not Acceptable Here' });
  joinLegs(c.caller.dialog, c.app.dialog, c.ctx);
  const { sent, res } = response();
  c.app.emit('update', message({}) as unknown as SipRequest, res);
  await flush();
  t.strictSame(c.caller.requests.map((r) => r.method), ['UPDATE'], 'the UPDATE from the app went to the caller');
  t.strictSame(sent, [{ status: 488, reason: 'Not Acceptable Here', headers: { 'Content-Type': 'text/plain' }, body: 'no' }]);
});

t.test('an INFO the other side never answers gets 408 after inDialogTimeoutMs, not before', async (t) => {
  const c = call();
  joinLegs(c.caller.dialog, c.app.dialog, c.ctx);
  const { sent, res } = response();
  c.caller.emit('info', message({ 'Content-Type': 'application/dtmf-relay' }, 'Signal=1\r\n') as unknown as SipRequest, res);
  await c.clock.advance(4999);
  t.strictSame(sent, [], 'no answer yet');
  await c.clock.advance(1);
  t.equal(sent[0]?.status, 408, '408 Request Timeout to the caller');
  t.equal(sent.length, 1);
});

t.test('a re-INVITE with an offer: relayed, the answer comes back', async (t) => {
  const c = call();
  c.app.reoffer = () => Promise.resolve('v=0 answer');
  joinLegs(c.caller.dialog, c.app.dialog, c.ctx);
  const { sent, res } = response();
  c.caller.emit('modify', message({}, 'v=0 offer') as unknown as SipRequest, res);
  await flush();
  t.strictSame(c.app.reinvites, ['v=0 offer']);
  t.strictSame(sent, [{ status: 200, headers: { 'Content-Type': 'application/sdp' }, body: 'v=0 answer' }]);
});

t.test('a re-INVITE without SDP (late offer): the other leg offers, our requester answers in its ACK, which completes the other leg', async (t) => {
  const c = call();
  const acks: string[] = [];
  c.app.reoffer = () => Promise.resolve({ sdp: 'v=0 app offer', ack: (sdp: string) => acks.push(sdp) });
  joinLegs(c.caller.dialog, c.app.dialog, c.ctx);
  const { sent, res } = response();
  c.caller.emit('modify', message({}) as unknown as SipRequest, res);
  await flush();
  t.strictSame(c.app.reinvites, [{ noAck: true }], 'no offer invented for the app');
  t.strictSame(sent, [{ status: 200, headers: { 'Content-Type': 'application/sdp' }, body: 'v=0 app offer' }], "the app's offer goes to the caller");
  t.strictSame(acks, [], 'the app leg waits for the answer');
  c.caller.emit('ack', message({}, 'v=0 caller answer'));
  t.strictSame(acks, ['v=0 caller answer'], "the caller's answer completes the app's re-INVITE");
});

t.test('a call past maxCallDurationMs is hung up on both legs, once', async (t) => {
  const c = call({ maxCallDurationMs: 60_000, callerByeRejects: true });
  joinLegs(c.caller.dialog, c.app.dialog, c.ctx);
  await c.clock.advance(59_999);
  t.strictSame([c.caller.byes, c.app.byes, c.ends()], [0, 0, 0], 'still up just before the limit');
  const unhandled = await unhandledDuring(() => c.clock.advance(1));
  t.strictSame([c.caller.byes, c.app.byes, c.ends()], [1, 1, 1], 'both legs get BYE and the channel is freed');
  t.strictSame(unhandled, [], "the caller's refused BYE is handled");
  c.app.emit('destroy');
  t.equal(c.ends(), 1, 'a late hang-up frees nothing twice');
  t.equal(c.clock.pendingTimers, 0);
});

t.test('a call that ends by itself clears its duration timer', async (t) => {
  const c = call({ maxCallDurationMs: 60_000 });
  joinLegs(c.caller.dialog, c.app.dialog, c.ctx);
  c.caller.emit('destroy');
  t.equal(c.clock.pendingTimers, 0);
  await c.clock.advance(60_000);
  t.strictSame([c.caller.byes, c.app.byes, c.ends()], [0, 1, 1]);
});

t.test('a call forgotten with its connection frees its channel once, sends no BYE, and leaves no timer', async (t) => {
  const c = call({ maxCallDurationMs: 60_000 });
  const forget = joinLegs(c.caller.dialog, c.app.dialog, c.ctx);
  forget();
  t.strictSame([c.caller.byes, c.app.byes, c.ends()], [0, 0, 1]);
  t.equal(c.clock.pendingTimers, 0);
  c.caller.emit('destroy');
  forget();
  t.equal(c.ends(), 1, 'nothing is freed twice');
});
