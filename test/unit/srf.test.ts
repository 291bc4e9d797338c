import { EventEmitter } from 'node:events';
import t from 'tap';
import { ACK_STALL_MS, acknowledgementLag, closeConnections, connectSrf, sendRequest, type Srf, unansweredPings } from '../../src/sip/srf';

/** drachtio-srf's connection map as the watchdog reads it. */
function withConnections(pending: number[]) {
  const sockets = pending.map((n) => ({
    destroyed: false,
    reason: '',
    state: { pendingPingRequests: new Set(Array.from({ length: n }, (_, i) => `ping-${i}`)) },
    destroy(err: Error) {
      this.destroyed = true;
      this.reason = err.message;
    },
  }));
  const srf = { _app: { client: { mapServer: new Map(sockets.map((s) => [s, s.state])) } } } as unknown as Srf;
  return { srf, sockets };
}

t.test('the watchdog reads the most pings outstanding on any connection, and can close them all', async (t) => {
  const { srf, sockets } = withConnections([0, 2, 7, 3]);
  t.equal(unansweredPings(srf), 7);
  closeConnections(srf, 'silent for 30000 ms');
  t.strictSame(
    sockets.map((s) => s.destroyed),
    [true, true, true, true],
  );
  t.match(sockets[2]?.reason, /silent for 30000 ms/);
});

/** drachtio-srf as connect() leaves it: an agent with its wire protocol and one server connection. */
function connectingSrf(withWireProtocol = true) {
  const socket = { destroyed: false, destroy() { this.destroyed = true; } };
  const state = { pendingPingRequests: new Set<string>() };
  const wp = new EventEmitter();
  const srf = {
    _app: {} as Record<string, unknown>,
    events: new EventEmitter(),
    on(event: string, cb: () => void) {
      this.events.on(event, cb);
    },
    connect(opts: unknown) {
      this.connectedWith = opts;
      this._app.client = withWireProtocol ? { wp, mapServer: new Map([[socket, state]]) } : {};
    },
    connectedWith: undefined as unknown,
  };
  return { srf: srf as unknown as Srf, raw: srf, socket, state, wp };
}

const OPTS = { host: '127.0.0.1', port: 9022, secret: 's', retryMaxDelayMs: 1000, pingIntervalMs: 1000 };

t.test('every ping drachtio-srf sends is recorded as outstanding until its pong', async (t) => {
  const { srf, raw, socket, state, wp } = connectingSrf();
  t.equal(connectSrf(srf, OPTS), true);
  t.match(raw.connectedWith, { enablePing: true, pingInterval: 5000, reconnect: { retryMaxDelay: 1000 } }, 'the ping interval is raised to its 5 s floor');
  for (const msgId of ['p1', 'p2']) wp.emit('ping', { msgId, socket });
  t.strictSame([...state.pendingPingRequests], ['p1', 'p2']);
  state.pendingPingRequests.delete('p1'); // drachtio-srf's agent on the pong
  wp.emit('ping', { msgId: 'p3', socket });
  t.equal(unansweredPings(srf), 2);
  wp.emit('ping', { msgId: 'p4', socket });
  t.equal(unansweredPings(srf), 3);
  t.equal(socket.destroyed, false, 'reading the count closes nothing');
  wp.emit('ping', { msgId: 'p5', socket: {} });
  t.equal(state.pendingPingRequests.has('p5'), false, 'a ping on an unknown socket is ignored');
});

t.test('a drachtio-srf without the wire protocol the bookkeeping relies on is reported, not ignored', async (t) => {
  t.equal(connectSrf(connectingSrf(false).srf, OPTS), false);
});

t.test('no connection: nothing to close, and requests fail with a clear error', async (t) => {
  const { srf } = withConnections([]);
  t.equal(unansweredPings(srf), 0);
  await t.rejects(sendRequest(srf, 'sip:127.0.0.1', { method: 'OPTIONS' }), /not connected to drachtio-server/);
});

/**
 * drachtio-srf's request(): the echo of the sent request and a fast answer often
 * arrive in one TCP read, so 'response' fires in the same tick as the callback.
 */
function answeringSrf(answer: { status: number; reason: string } | Error) {
  const { srf } = withConnections([0]);
  Object.assign(srf, {
    request: (_uri: string, _opts: unknown, cb: (err: Error | null, sent?: EventEmitter) => void) => {
      if (answer instanceof Error) return cb(answer);
      const sent = new EventEmitter();
      cb(null, sent);
      sent.emit('response', { status: 100, reason: 'Trying', has: () => false, get: () => '' });
      sent.emit('response', { ...answer, has: (n: string) => n === 'Allow', get: () => 'INVITE, ACK' });
    },
  });
  return srf;
}

t.test('a final response in the same tick as the sent request is not lost', async (t) => {
  const res = await sendRequest(answeringSrf({ status: 200, reason: 'OK' }), 'sip:127.0.0.11', { method: 'OPTIONS' });
  t.match(res, { status: 200, reason: 'OK' });
  t.equal(res.header('Allow'), 'INVITE, ACK');
  t.equal(res.header('Server'), undefined);
});

t.test('drachtio-server refusing to send the request rejects with its reason', async (t) => {
  await t.rejects(sendRequest(answeringSrf(new Error('unable to send')), 'sip:127.0.0.11', { method: 'OPTIONS' }), /unable to send/);
});

/** A drachtio-srf whose server takes every request and never acknowledges it (frozen). */
function frozenSrf() {
  const { srf } = withConnections([0]);
  const events = new EventEmitter();
  let handed = 0;
  Object.assign(srf, {
    on: (event: string, cb: () => void) => events.on(event, cb),
    connect: () => undefined,
    request: () => {
      handed++;
    },
  });
  return { srf, events, handed: () => handed };
}

t.test('requests a silent server never acknowledged stop further ones from piling up, until a new connection', async (t) => {
  const clock = t.capture(performance, 'now', () => 0);
  const { srf, events, handed } = frozenSrf();
  t.equal(connectSrf(srf, OPTS), false, 'no wire protocol in this fake');
  void sendRequest(srf, 'sip:127.0.0.32', { method: 'OPTIONS' });
  void sendRequest(srf, 'sip:127.0.0.32', { method: 'OPTIONS' });
  t.equal(handed(), 2, 'handed over while the lag is short');
  clock.restore();
  t.capture(performance, 'now', () => ACK_STALL_MS + 1);
  t.equal(acknowledgementLag(srf), ACK_STALL_MS + 1);
  await t.rejects(sendRequest(srf, 'sip:127.0.0.32', { method: 'OPTIONS' }), /acknowledged nothing for 1001 ms; not sending/);
  t.equal(handed(), 2, 'nothing more written to the silent server');
  events.emit('connect', null, 'tcp/127.0.0.11:5060');
  t.equal(acknowledgementLag(srf), 0, 'a new connection starts clean');
  void sendRequest(srf, 'sip:127.0.0.32', { method: 'OPTIONS' });
  t.equal(handed(), 3);
});
