import t from 'tap';
import { closeSilentConnections, sendRequest, type Srf } from '../../src/sip/srf';

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

t.test('no connection: nothing to close, and requests fail with a clear error', async (t) => {
  const { srf } = withConnections([]);
  t.equal(closeSilentConnections(srf, 2), 0);
  await t.rejects(sendRequest(srf, 'sip:127.0.0.1', { method: 'OPTIONS' }), /not connected to drachtio-server/);
});
