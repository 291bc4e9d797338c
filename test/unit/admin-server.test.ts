import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import pino from 'pino';
import t from 'tap';
import { Agent } from '../../src/agent';
import { buildMetricsServer } from '../../src/admin/metrics-server';
import { buildAdminServer } from '../../src/admin/server';
import { validateConfig } from '../../src/config/load';
import { singleNodeConfig } from '../support/config-fixture';
import { selfSignedCert } from '../support/tls';

const silent = pino({ level: 'silent' });
const TOKEN = 'Adm1nTok3nXq';

/** A single-node agent, never started: the admin API is exercised in-process with inject(). */
function admin(adminCfg: Record<string, unknown> = { token: TOKEN }) {
  const cfg = validateConfig({ ...singleNodeConfig(), admin: adminCfg });
  const agent = new Agent(cfg, silent);
  return { app: buildAdminServer(agent, cfg.admin, silent, agent.adminDelegate), agent };
}

const post = (token: string | undefined, ip: string) => ({
  method: 'POST' as const,
  url: '/switchover',
  remoteAddress: ip,
  headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
});

const get = (url: string, token?: string) => ({ url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

t.test('on loopback, health, readiness, status and events need no token', async (t) => {
  const { app } = admin();
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503, 'not ready before drachtio-server is connected');
  t.match(ready.json(), { ready: false, drachtio: false, store: true });
  t.match((await app.inject({ url: '/status' })).json(), { node: 'solo', peer: null, isOwner: false, registered: false });
  t.match((await app.inject({ url: '/events' })).json(), { events: [] });
});

t.test('beyond loopback, status and events need the token, with the mutations\' lockout; health and readiness do not', async (t) => {
  const { app } = admin({ host: '0.0.0.0', token: TOKEN, tls: selfSignedCert('127.0.0.1') });
  t.equal((await app.inject(get('/healthz'))).statusCode, 200);
  t.equal((await app.inject(get('/readyz'))).statusCode, 503);
  for (const url of ['/status', '/events']) t.equal((await app.inject(get(url, TOKEN))).statusCode, 200, `${url} with the token`);
  for (const url of ['/status', '/events']) {
    const r = await app.inject(get(url));
    t.equal(r.statusCode, 401, `${url} without a token`);
    t.equal(r.headers['www-authenticate'], 'Bearer');
  }
  t.equal((await app.inject(get('/status', 'wrong'))).statusCode, 401, 'third bad token');
  t.equal((await app.inject(get('/status', TOKEN))).statusCode, 429, 'locked out of reads too');
  t.equal((await app.inject(post(TOKEN, '127.0.0.1'))).statusCode, 429, 'and of mutations');
});

t.test('beyond loopback without a token, status and events are disabled, and say so', async (t) => {
  const { app } = admin({ host: '192.0.2.50', tls: selfSignedCert('192.0.2.50') });
  for (const url of ['/status', '/events']) {
    const r = await app.inject(get(url));
    t.equal(r.statusCode, 403, url);
    t.match(r.json(), { error: /disabled: set admin.token/ });
  }
});

t.test('metrics are served on their own listener, not on the admin API', async (t) => {
  const { app, agent } = admin();
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 404, 'the admin API has no /metrics');
  const metricsApp = buildMetricsServer(agent, silent);
  const metrics = await metricsApp.inject({ url: '/metrics' });
  t.equal(metrics.statusCode, 200);
  t.match(metrics.headers['content-type'], /^text\/plain/);
  t.match(metrics.body, /^understudy_is_owner 0$/m);
  t.match(metrics.body, /process_cpu_seconds_total/);
  t.equal((await metricsApp.inject({ url: '/healthz' })).statusCode, 200);
  for (const url of ['/status', '/events', '/readyz']) t.equal((await metricsApp.inject({ url })).statusCode, 404, `no ${url} beside the metrics`);
  t.equal((await metricsApp.inject(post(TOKEN, '127.0.0.1'))).statusCode, 404, 'no mutation beside the metrics');
});

t.test('mutations are disabled without a configured token, and say so', async (t) => {
  const { app } = admin({});
  const r = await app.inject(post(TOKEN, '10.0.0.1'));
  t.equal(r.statusCode, 403);
  t.match(r.json(), { error: /disabled: set admin.token/ });
});

t.test('3 bad tokens lock a source out, even with the right token; another source is unaffected', async (t) => {
  const { app, agent } = admin();
  for (let i = 0; i < 3; i++) t.equal((await app.inject(post('wrong', '10.0.0.1'))).statusCode, 401, `bad token ${i + 1}`);
  t.equal((await app.inject(post(TOKEN, '10.0.0.1'))).statusCode, 429, 'locked out with the right token');
  t.equal((await app.inject(post(undefined, '10.0.0.1'))).statusCode, 429, 'and without one');
  const other = await app.inject(post(TOKEN, '10.0.0.2'));
  t.notOk([401, 403, 429].includes(other.statusCode), `another source gets through to the operation (${other.statusCode})`);
  t.match(other.json(), { message: /owns at epoch/ });
  const metrics = (await agent.metricsText()).body;
  t.match(metrics, /^understudy_admin_auth_failures_total 5$/m);
  t.match(metrics, /^understudy_admin_lockouts_total 1$/m);
});

t.test('HTTPS when a certificate and key are configured', async (t) => {
  const { cert, key } = selfSignedCert('127.0.0.1');
  const { app } = admin({ token: TOKEN, tls: { cert, key } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', ca: readFileSync(cert), servername: '127.0.0.1', checkServerIdentity: () => undefined }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString()));
      res.on('end', () => resolve(data));
    });
    req.on('error', reject);
    req.end();
  });
  t.match(JSON.parse(body), { status: 'ok' });
});
