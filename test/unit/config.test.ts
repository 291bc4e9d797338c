import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { ConfigError, configKeys, loadConfig } from '../../src/config/load';
import { minimalConfig, singleNodeConfig } from '../support/config-fixture';
import { scratchDir } from '../support/processes';

const dir = scratchDir('config');

const minimal = minimalConfig;

function write(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : stringify(content));
  return file;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

t.test('the example configs of both nodes are valid', async (t) => {
  for (const f of ['config/node-a.yaml', 'config/node-b.yaml']) t.doesNotThrow(() => loadConfig(f, {}), f);
});

t.test('defaults fill every optional key', async (t) => {
  const cfg = loadConfig(write('min.yaml', minimal()), {});
  t.equal(cfg.mode, 'ha');
  t.match(cfg.verification, { attempts: 3, intervalMs: 500, timeoutMs: 1000, aliveTtlMs: 5000, aliveStatuses: [200] });
  t.equal(cfg.dissuasion.status, 486);
  t.equal(cfg.admin.host, '127.0.0.1');
  t.equal(cfg.redis?.commandTimeoutMs, 500);
  t.match(cfg.app, { answerTimeoutMs: 30_000, maxCallDurationMs: 4 * 3600_000, inDialogTimeoutMs: 10_000 });
});

t.test('app.maxCallDurationMs: 0 turns the limit off; the call timeouts must be positive', async (t) => {
  const app = (extra: Record<string, number>) => ({ ...minimal(), app: { ...(minimal().app as Record<string, unknown>), ...extra } });
  t.equal(loadConfig(write('nolimit.yaml', app({ maxCallDurationMs: 0 })), {}).app.maxCallDurationMs, 0);
  t.match(problems(() => loadConfig(write('neg.yaml', app({ maxCallDurationMs: -1 })), {})), [/^app\.maxCallDurationMs: /]);
  t.match(problems(() => loadConfig(write('zero.yaml', app({ answerTimeoutMs: 0, inDialogTimeoutMs: 0 })), {})), [/^app\.answerTimeoutMs: /, /^app\.inDialogTimeoutMs: /]);
});

t.test('single-node mode: no peer, no redis, primary role', async (t) => {
  t.doesNotThrow(() => loadConfig(write('single.yaml', singleNodeConfig()), {}));
  t.match(problems(() => loadConfig(write('lonely.yaml', { ...singleNodeConfig(), node: { id: 'b', role: 'secondary' } }), {})), [/^peer: required for a secondary/]);
  const { redis: _r, ...peerNoRedis } = minimal();
  t.match(problems(() => loadConfig(write('split.yaml', peerNoRedis), {})), [/^redis: required when a peer is configured/]);
});

t.test('environment overrides, case-insensitive, typed as YAML scalars', async (t) => {
  const cfg = loadConfig(write('env.yaml', minimal()), {
    UNDERSTUDY_IPBX__PASSWORD: 'Other9Passw0rdX',
    UNDERSTUDY_VERIFICATION__ATTEMPTS: '5',
    UNDERSTUDY_verification__aliveTtlMs: '100',
    UNDERSTUDY_SECURITY__LOCKDOWN: 'true',
    UNDERSTUDY_SECURITY__TRUSTED: '[10.1.0.0/16]',
    UNRELATED: 'x',
  });
  t.equal(cfg.ipbx.password, 'Other9Passw0rdX');
  t.equal(cfg.verification.attempts, 5);
  t.equal(cfg.verification.aliveTtlMs, 100);
  t.equal(cfg.security.lockdown, true);
  t.strictSame(cfg.security.trusted, ['10.1.0.0/16']);
});

t.test('a string key keeps its value as written, digits included', async (t) => {
  const cfg = loadConfig(write('digits.yaml', minimal()), { UNDERSTUDY_IPBX__USERNAME: '1001' });
  t.equal(cfg.ipbx.username, '1001');
  t.match(problems(() => loadConfig(write('digits2.yaml', minimal()), { UNDERSTUDY_IPBX__PASSWORD: '12345678' })), [/^ipbx\.password: /]);
});

t.test('an UNDERSTUDY_ variable naming no key is an error, not ignored', async (t) => {
  t.strictSame(problems(() => loadConfig(write('typo.yaml', minimal()), { UNDERSTUDY_IPBX__PASSWROD: 'x' })), [
    'UNDERSTUDY_IPBX__PASSWROD: names no configuration key',
  ]);
});

t.test('every problem names its key and reason', async (t) => {
  const bad = minimal() as Record<string, unknown> & ReturnType<typeof minimal>;
  const file = write('bad.yaml', {
    ...bad,
    node: { id: 'node-b', role: 'backup' },
    ipbx: { ...bad.ipbx, addresses: ['192.0.2.300'], registrar: 'http://x' },
    dissuasion: { status: 603 },
    verification: { attempts: 0 },
  });
  const p = problems(() => loadConfig(file, {}));
  t.match(p.join('\n'), /node\.role/);
  t.match(p.join('\n'), /ipbx\.addresses\.0: invalid CIDR "192\.0\.2\.300"/);
  t.match(p.join('\n'), /ipbx\.registrar: must be a sip: or sips: URI/);
  t.match(p.join('\n'), /dissuasion\.status: a 6xx tells the IPBX to stop trying everywhere/);
  t.match(p.join('\n'), /verification\.attempts/);
});

t.test('dissuasion: 486, 302 and 503 accepted; 6xx and non-final refused', async (t) => {
  for (const status of [486, 302, 503, 480]) {
    t.strictSame(problems(() => loadConfig(write(`d${status}.yaml`, { ...minimal(), dissuasion: { status } }), {})), [], String(status));
  }
  for (const status of [600, 603, 606, 699, 200, 180]) {
    t.match(problems(() => loadConfig(write(`d${status}.yaml`, { ...minimal(), dissuasion: { status } }), {})), [/^dissuasion\.status: /], String(status));
  }
});

t.test('weak secrets are refused at start, naming the key', async (t) => {
  const weak = { ...minimal(), ipbx: { ...minimal().ipbx, password: '12345678' }, admin: { token: 'HelloYou' } };
  const p = problems(() => loadConfig(write('weak.yaml', weak), {}));
  t.equal(p.length, 2);
  t.match(p[0], /^ipbx\.password: /);
  t.match(p[1], /^admin\.token: /);
});

t.test('unreadable files, bad YAML and a non-mapping top level are reported with the file name', async (t) => {
  t.match(problems(() => loadConfig(join(dir, 'missing.yaml'), {})), [/missing\.yaml: ENOENT/]);
  t.match(problems(() => loadConfig(write('broken.yaml', 'node: [unclosed'), {})), [/broken\.yaml: not valid YAML/]);
  t.match(problems(() => loadConfig(write('list.yaml', '- a\n- b\n'), {})), [/list\.yaml: the top level must be a mapping/]);
});

t.test('configKeys lists leaves, arrays as one key', async (t) => {
  const keys = configKeys();
  t.ok(keys.includes('ipbx.password'));
  t.ok(keys.includes('redis.sentinels'));
  t.notOk(keys.some((k) => k.startsWith('redis.sentinels.')));
});
