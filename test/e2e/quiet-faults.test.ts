/**
 * A new user's first run: no drachtio-server, no Redis, no IPBX. The agent says
 * so once per fault, not once per retry (the reminder comes minutes later).
 */
import t from 'tap';
import { startAgent } from '../support/agent';
import { freeTcpPort, sleep } from '../support/processes';
import { NET, nodeConfig } from '../support/topology';

t.test('nothing to connect to: each fault is logged once over 6 s of retries', async (t) => {
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
});
