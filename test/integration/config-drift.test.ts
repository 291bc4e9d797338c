/**
 * Config drift between the two nodes of a pair, through a real redis-server:
 * each node's heartbeat carries its pair settings' fingerprint, each reads the
 * other's, and the alarm and the status name the keys that differ.
 */
import { createConnection } from 'node:net';
import pino from 'pino';
import t, { type Test } from 'tap';
import { validateConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { fingerprint } from '../../src/core/settings-fingerprint';
import { epoch } from '../../src/core/types';
import { HeartbeatPublisher } from '../../src/heartbeat';
import { metricDelegates } from '../../src/metric-delegates';
import { createMetrics } from '../../src/metrics';
import { pairSettingsOf } from '../../src/pair-settings';
import { RedisStore } from '../../src/state/redis-store';
import { systemClock } from '../../src/system-clock';
import { minimalConfig } from '../support/config-fixture';
import { TOOLS, withTools } from '../support/preconditions';
import { waitFor } from '../support/processes';
import { type RedisServer, startRedis } from '../support/redis';

withTools(t, 'redis integration', [TOOLS.redis], run);

const SECRET = 'Node-A-Passw0rd-Kx';

function configOf(id: 'node-a' | 'node-b', patch: Record<string, unknown> = {}): Config {
  const c = minimalConfig();
  return validateConfig({
    ...c,
    node: { id, role: id === 'node-a' ? 'primary' : 'secondary' },
    peer: { id: id === 'node-a' ? 'node-b' : 'node-a', uri: 'sip:127.0.0.12:5060' },
    ipbx: { ...c.ipbx, password: id === 'node-a' ? SECRET : c.ipbx.password },
    ...patch,
  });
}

/** One node's heartbeat on its own client of the shared Redis, with the metrics the agent would export. */
function nodeOn(t: Test, redis: RedisServer, cfg: Config) {
  const store = new RedisStore({ url: redis.url, commandTimeoutMs: 300, keyPrefix: 'pair:' });
  t.teardown(() => store.close());
  const metrics = createMetrics();
  const hb = new HeartbeatPublisher(
    { self: cfg.node.id, peer: cfg.peer?.id ?? null, staleAfterMs: 3000, settings: fingerprint(pairSettingsOf(cfg)) },
    store,
    systemClock,
    pino({ level: 'silent' }),
    metricDelegates(metrics).heartbeat,
    () => true,
  );
  const alarm = async () => (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith('understudy_alarm{alarm="config_drift"}'));
  return { store, hb, alarm };
}

/** The raw heartbeat as Redis holds it, read with a bare RESP GET. */
function rawGet(port: number, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port });
    let got = '';
    s.setTimeout(1000, () => s.destroy(new Error('no answer')));
    s.once('connect', () => s.write(`GET ${key}\r\n`));
    s.on('data', (d) => {
      got += d.toString();
      if (/\r\n.*\r\n$/s.test(got)) s.end();
    });
    s.once('close', () => resolve(got));
    s.once('error', reject);
  });
}

function run(): void {
  t.test('two nodes with different pair settings both raise config_drift naming the keys, and clear it once they agree', async (t) => {
    const redis = await startRedis();
    t.teardown(() => redis.stop());
    const a = nodeOn(t, redis, configOf('node-a'));
    const drifting = configOf('node-b', { verification: { attempts: 1 }, dissuasion: { status: 503 } });
    let b = nodeOn(t, redis, drifting);
    await waitFor(() => a.store.isReachable() && b.store.isReachable(), 5000, 'both stores ready');

    await a.hb.beat({ owner: 'node-a', epoch: epoch(1) });
    await b.hb.beat({ owner: 'node-a', epoch: epoch(1) });
    await a.hb.beat({ owner: 'node-a', epoch: epoch(1) });
    t.strictSame(a.hb.settingsDrift, ['dissuasion.status', 'verification.attempts']);
    t.strictSame(b.hb.settingsDrift, ['dissuasion.status', 'verification.attempts']);
    t.equal(await a.alarm(), 'understudy_alarm{alarm="config_drift"} 1');
    t.equal(await b.alarm(), 'understudy_alarm{alarm="config_drift"} 1');

    const stored = await rawGet(redis.port, 'pair:heartbeat:node-a');
    t.match(stored, /"verification\.attempts":"[0-9a-f]{8}"/, 'the heartbeat in Redis carries the fingerprint');
    t.notMatch(stored, SECRET, 'and never the password');

    // node-b restarted with the same settings as node-a.
    b = nodeOn(t, redis, configOf('node-b'));
    await waitFor(() => b.store.isReachable(), 5000, 'the new store ready');
    await b.hb.beat({ owner: 'node-a', epoch: epoch(1) });
    await a.hb.beat({ owner: 'node-a', epoch: epoch(1) });
    t.strictSame(a.hb.settingsDrift, []);
    t.strictSame(b.hb.settingsDrift, []);
    t.equal(await a.alarm(), 'understudy_alarm{alarm="config_drift"} 0');
  });
}
