import t from 'tap';
import { validateConfig } from '../../src/config/load';
import { driftedKeys, fingerprint } from '../../src/core/settings-fingerprint';
import { pairSettingsOf } from '../../src/pair-settings';
import { minimalConfig } from '../support/config-fixture';

const nodeB = () => validateConfig(minimalConfig());
/** The same pair's other node: its own id, role, contact, addresses and secrets. */
const nodeA = (patch: (c: ReturnType<typeof minimalConfig>) => void = () => undefined) => {
  const c = minimalConfig();
  c.node = { id: 'node-a', role: 'primary' };
  c.peer = { id: 'node-b', uri: 'sip:127.0.0.11:5060' };
  c.ipbx = { ...c.ipbx, contact: 'sip:appsrv@127.0.0.12:5060', password: 'Other-Passw0rd-Zq', username: 'appsrv2' };
  c.drachtio = { secret: 'An0ther-Drachtio-Secret' };
  patch(c);
  return validateConfig(c);
};
const fp = (cfg: ReturnType<typeof nodeB>) => fingerprint(pairSettingsOf(cfg));

t.test('two nodes of one pair agree although their identity, contact and secrets differ', async (t) => {
  t.strictSame(driftedKeys(fp(nodeB()), fp(nodeA())), []);
});

t.test('each pair setting that differs is named, and only it', async (t) => {
  const cases: Array<[string, (c: ReturnType<typeof minimalConfig>) => void]> = [
    ['mode', (c) => Object.assign(c, { mode: 'backup' })],
    ['verification.attempts', (c) => Object.assign(c, { verification: { attempts: 2 } })],
    ['verification.aliveStatuses', (c) => Object.assign(c, { verification: { aliveStatuses: [200, 404] } })],
    ['dissuasion.status', (c) => Object.assign(c, { dissuasion: { status: 503 } })],
    ['ipbx.registrar', (c) => (c.ipbx = { ...c.ipbx, registrar: 'sip:127.0.0.99:5060' })],
    ['ipbx.aor', (c) => (c.ipbx = { ...c.ipbx, aor: 'sip:other@127.0.0.20' })],
    ['heartbeat.staleAfterMs', (c) => Object.assign(c, { heartbeat: { staleAfterMs: 9000 } })],
    ['app.channels', (c) => (c.app = { ...c.app, channels: 10 } as typeof c.app)],
  ];
  for (const [key, patch] of cases) t.strictSame(driftedKeys(fp(nodeB()), fp(nodeA(patch))), [key], key);
});

t.test('the fingerprint carries digests of the values, never a secret', async (t) => {
  const f = fp(nodeA());
  const text = JSON.stringify(f);
  for (const secret of ['Other-Passw0rd-Zq', 'An0ther-Drachtio-Secret', 'appsrv2', '127.0.0.20']) t.notOk(text.includes(secret), secret);
  t.ok(Object.values(f).every((v) => /^[0-9a-f]{8}$/.test(v)));
});

t.test('a key only one side has (a newer version) counts as drift', async (t) => {
  t.strictSame(driftedKeys({ a: '1', b: '2' }, { a: '1' }), ['b']);
  t.strictSame(driftedKeys({ a: '1' }, { a: '1', c: '3' }), ['c']);
});
