import { EventEmitter } from 'node:events';
import t from 'tap';
import { closeSilentConnections, connectSrf, sendRequest, type Srf } from '../../src/sip/srf';

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

t.test('a connection whose pings go unanswered is closed so drachtio-srf reconnects', async (t) => {
  const { srf, sockets } = withConnections([0, 2, 3, 7]);
  t.equal(closeSilentConnections(srf, 2), 2);
  t.strictSame(
    sockets.map((s) => s.destroyed),
    [false, false, true, true],
  );
  t.match(sockets[2]?.reason, /no answer to 2 pings/);
});

/** drachtio-srf as connect() leaves it: an agent with its wire protocol and one server connection. */
function connectingSrf(withWireProtocol = true) {
  const socket = { destroyed: false, destroy() { this.destroyed = true; } };
  const state = { pendingPingRequests: new Set<string>() };
  const wp = new EventEmitter();
  const srf = {
    _app: {} as Record<string, unknown>,
    connect(opts: unknown) {
      this.connectedWith = opts;
      this._app.client = withWireProtocol ? { wp, mapServer: new Map([[socket, state]]) } : {};
    },
    connectedWith: undefined as unknown,
  };
  return { srf: srf as unknown as Srf, raw: srf, socket, state, wp };
}

const OPTS = { host: '127.0.0.1', port: 9022, secret: 's', retryMaxDelayMs: 1000, pingIntervalMs: 1000 };

t.test('every ping drachtio-srf sends is recorded as outstanding until its pong; silent ones close the connection', async (t) => {
  const { srf, raw, socket, state, wp } = connectingSrf();
  t.equal(connectSrf(srf, OPTS), true);
  t.match(raw.connectedWith, { enablePing: true, pingInterval: 5000, reconnect: { retryMaxDelay: 1000 } }, 'the ping interval is raised to its 5 s floor');
  for (const msgId of ['p1', 'p2']) wp.emit('ping', { msgId, socket });
  t.strictSame([...state.pendingPingRequests], ['p1', 'p2']);
  state.pendingPingRequests.delete('p1'); // drachtio-srf's agent on the pong
  wp.emit('ping', { msgId: 'p3', socket });
  t.equal(closeSilentConnections(srf, 2), 0, 'two outstanding: still alive');
  wp.emit('ping', { msgId: 'p4', socket });
  t.equal(closeSilentConnections(srf, 2), 1, 'three outstanding: closed');
  t.equal(socket.destroyed, true);
  wp.emit('ping', { msgId: 'p5', socket: {} });
  t.equal(state.pendingPingRequests.has('p5'), false, 'a ping on an unknown socket is ignored');
});

t.test('a drachtio-srf without the wire protocol the bookkeeping relies on is reported, not ignored', async (t) => {
  t.equal(connectSrf(connectingSrf(false).srf, OPTS), false);
});

t.test('no connection: nothing to close, and requests fail with a clear error', async (t) => {
  const { srf } = withConnections([]);
  t.equal(closeSilentConnections(srf, 2), 0);
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
