/**
 * A new user's first run: no drachtio-server, no Redis, no IPBX. The agent says
 * so once per fault, not once per retry (the reminder comes minutes later).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import t from 'tap';
import { startAgent } from '../support/agent';
import { freeTcpPort, sleep, waitFor } from '../support/processes';
import { NET, nodeConfig } from '../support/topology';

const CLI = resolve(__dirname, '../../dist/cli.js');

t.test('nothing to connect to: each fault is logged once over 6 s of retries; status --watch and events say so', async (t) => {
  const config = await nodeConfig({
    id: 'node-a',
    role: 'primary',
    address: NET.nodeA,
    peerAddress: NET.nodeB,
    app: NET.appA,
    // Nothing listens on either port.
    drachtioPort: await freeTcpPort(),
    redisUrl: `redis://127.0.0.1:${await freeTcpPort()}`,
  });
  const agent = await startAgent(config, { waitConnected: false });
  t.teardown(() => agent.stop());
  await agent.waitForLog((l) => l.msg === 'understudy started', 10_000, 'the agent to start');
  // Heartbeat every 300 ms, drachtio retries every second: dozens of failures in this window.
  await sleep(6000);
  const problems = agent.logs().filter((l) => Number(l.level) >= 40).map((l) => String(l.msg));
  t.comment(problems.join('\n'));
  const counts = new Map<string, number>();
  for (const m of problems) counts.set(m, (counts.get(m) ?? 0) + 1);
  for (const [msg, n] of counts) t.equal(n, 1, `logged once: ${msg}`);
  for (const expected of ['drachtio connection error; retrying', 'state store unreachable: the SIP path alone decides until it is back']) {
    t.ok(counts.has(expected), `the fault is logged: ${expected}`);
  }
  const metrics = (await agent.admin('/metrics')).text;
  const storeErrors = metrics
    .split('\n')
    .filter((l) => l.startsWith('understudy_store_errors_total{'))
    .reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
  t.ok(storeErrors >= 10, `the counter carries the rate: ${storeErrors} store errors`);
  t.match(metrics, /^understudy_redis_up 0$/m, 'the store is reported down');

  // What the operator sees meanwhile: the watch redraws in place and stops on Ctrl-C; the history says why it has none.
  const url = `http://127.0.0.1:${(config.admin as { port: number }).port}`;
  const watch = spawn(process.execPath, [CLI, 'status', '--watch', '0.5', '--url', url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let screen = '';
  watch.stdout.on('data', (d: Buffer) => (screen += d.toString()));
  const frames = () => screen.split('\x1b[H\x1b[2J').filter((f) => f.includes('node        node-a')).length;
  await waitFor(() => frames() >= 2, 5000, `two frames of status --watch\n${screen}`);
  watch.kill('SIGINT');
  const code = await new Promise<number | null>((done) => watch.once('exit', done));
  t.equal(code, 0, 'Ctrl-C ends the watch cleanly');
  t.match(screen, /store {7}redis UNREACHABLE/);
  t.match(screen, /every 0\.5 s, Ctrl-C to stop/);
  const events = spawn(process.execPath, [CLI, 'events', '--url', url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  events.stderr.on('data', (d: Buffer) => (err += d.toString()));
  t.equal(await new Promise<number | null>((done) => events.once('exit', done)), 1, 'events: exit 1 while the store is unreachable');
  t.match(err, /events unavailable \(HTTP 503\): the state store is unreachable/);
});
