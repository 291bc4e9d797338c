import { chmodSync, writeFileSync } from 'node:fs';
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

const EXAMPLES = ['config/node-a.yaml', 'config/node-b.yaml'];
const EXAMPLE_SECRET_VARS: Record<string, string> = {
  UNDERSTUDY_IPBX__PASSWORD: 'Tq7vLm2pXa',
  UNDERSTUDY_ADMIN__TOKEN: 'Hq8mZ2xrWk5p',
  UNDERSTUDY_DRACHTIO__SECRET: 'Dr4chtioTest9',
  UNDERSTUDY_REDIS__PASSWORD: 'Rq6wNs3yPb',
};

/** A file holding `content`, with mode `mode`. */
function secretFile(name: string, content: string, mode = 0o600): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  chmodSync(file, mode);
  return file;
}

t.test('the shipped examples do not start until every secret is replaced, and say how', async (t) => {
  for (const f of EXAMPLES) {
    const p = problems(() => loadConfig(f, {}));
    t.strictSame(p.map((m) => m.split(':')[0]).sort(), ['admin.token', 'drachtio.secret', 'ipbx.password', 'redis.password'], f);
    for (const m of p) t.match(m, /: a placeholder: generate one with `openssl rand -base64 24`$/, f);
  }
});

t.test('the shipped examples start once their secrets come from the environment or from files', async (t) => {
  for (const f of EXAMPLES) {
    const cfg = loadConfig(f, EXAMPLE_SECRET_VARS);
    t.equal(cfg.ipbx.password, 'Tq7vLm2pXa', f);
    t.equal(cfg.redis?.password, 'Rq6wNs3yPb', f);
    const fromFiles = Object.fromEntries(
      Object.entries(EXAMPLE_SECRET_VARS).map(([name, value]) => [`${name}_FILE`, secretFile(`${name}.secret`, `${value}\n`)]),
    );
    t.strictSame(loadConfig(f, fromFiles), cfg, `${f}: same config from files`);
  }
});

t.test('every secret is checked at start, naming its key', async (t) => {
  const base = minimal();
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['drachtio vendor default', { drachtio: { secret: 'cymru' } }, /^drachtio\.secret: a well-known trivial or vendor-default value$/],
    ['a once-published example', { drachtio: { secret: 'Dr4chtio-Adm1n-Secret' } }, /^drachtio\.secret: a well-known/],
    ['redis.password', { redis: { ...base.redis, password: 'abc' } }, /^redis\.password: too short/],
    ['password in the redis URL', { redis: { url: 'redis://:Passw0rdX1234@127.0.0.1:6379' } }, /^redis\.url: contains an ascending/],
    ['sentinelPassword', { redis: { sentinels: [{ host: '127.0.0.1', port: 26379 }], sentinelName: 'm', sentinelPassword: 'HelloYou' } }, /^redis\.sentinelPassword: needs a digit$/],
    ['admin.token placeholder', { admin: { token: 'Xq9-change-me-7Lm' } }, /^admin\.token: a placeholder/],
  ];
  for (const [what, over, expected] of cases) {
    t.match(problems(() => loadConfig(write(`weak-${what.replace(/\W+/g, '-')}.yaml`, { ...base, ...over }), {})), [expected], what);
  }
});

t.test('a secret from a file: YAML …File key or UNDERSTUDY_…_FILE, trailing line break dropped', async (t) => {
  const { password: _p, ...ipbx } = minimal().ipbx;
  const file = secretFile('sip.secret', 'Fq4mWz8rTy\r\n');
  t.equal(loadConfig(write('pwfile.yaml', { ...minimal(), ipbx: { ...ipbx, passwordFile: file } }), {}).ipbx.password, 'Fq4mWz8rTy');
  const token = secretFile('token.secret', 'Hq8mZ2xrWk5p');
  t.equal(loadConfig(write('tokfile.yaml', minimal()), { UNDERSTUDY_ADMIN__TOKEN_FILE: token }).admin.token, 'Hq8mZ2xrWk5p');
  t.equal(loadConfig(write('tokfile2.yaml', minimal()), { UNDERSTUDY_admin__token_file: token }).admin.token, 'Hq8mZ2xrWk5p', 'case-insensitive like every variable');
  const sentinel = secretFile('sentinel.secret', 'Sn7tPq2wLx\n');
  const viaSentinel = { ...minimal(), redis: { sentinels: [{ host: '127.0.0.1', port: 26379 }], sentinelName: 'm' } };
  t.equal(loadConfig(write('sentfile.yaml', viaSentinel), { UNDERSTUDY_REDIS__SENTINELPASSWORD_FILE: sentinel }).redis?.sentinelPassword, 'Sn7tPq2wLx');
});

t.test('a secret file readable by group or others is refused, naming the key and the file', async (t) => {
  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    const file = secretFile(`open-${mode.toString(8)}.secret`, 'Hq8mZ2xrWk5p', mode);
    t.strictSame(problems(() => loadConfig(write('open.yaml', minimal()), { UNDERSTUDY_ADMIN__TOKEN_FILE: file })), [
      `admin.token: ${file} is open to group or others (mode 0${mode.toString(8)}): chmod 600 ${file}`,
    ]);
  }
  t.strictSame(problems(() => loadConfig(write('ok400.yaml', minimal()), { UNDERSTUDY_ADMIN__TOKEN_FILE: secretFile('ro.secret', 'Hq8mZ2xrWk5p', 0o400) })), []);
});

t.test('secret files: missing, empty, weak, or set twice are errors', async (t) => {
  const missing = join(dir, 'nope.secret');
  t.match(problems(() => loadConfig(write('m.yaml', minimal()), { UNDERSTUDY_DRACHTIO__SECRET_FILE: missing })), [/^drachtio\.secret: ENOENT/]);
  t.strictSame(problems(() => loadConfig(write('e.yaml', minimal()), { UNDERSTUDY_DRACHTIO__SECRET_FILE: secretFile('empty.secret', '\n') })), [
    `drachtio.secret: ${join(dir, 'empty.secret')} is empty`,
  ]);
  t.match(problems(() => loadConfig(write('w.yaml', minimal()), { UNDERSTUDY_DRACHTIO__SECRET_FILE: secretFile('weak.secret', 'cymru\n') })), [/^drachtio\.secret: a well-known/]);
  const good = secretFile('good.secret', 'Dr4chtioTest9');
  t.strictSame(problems(() => loadConfig(write('twice.yaml', minimal()), { UNDERSTUDY_DRACHTIO__SECRET: 'Dr4chtioTest9', UNDERSTUDY_DRACHTIO__SECRET_FILE: good })), [
    'UNDERSTUDY_DRACHTIO__SECRET_FILE: UNDERSTUDY_DRACHTIO__SECRET is set too; keep one',
  ]);
  t.strictSame(problems(() => loadConfig(write('twice2.yaml', { ...minimal(), drachtio: { secret: 'Dr4chtioTest9', secretFile: good } }), {})), [
    'drachtio.secretFile: drachtio.secret is set too; keep one',
  ]);
  t.strictSame(problems(() => loadConfig(write('nf.yaml', minimal()), { UNDERSTUDY_IPBX__USERNAME_FILE: good })), ['UNDERSTUDY_IPBX__USERNAME_FILE: names no configuration key']);
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
