import t from 'tap';
import { auditConfig, auditExitCode, type Finding, formatFindings } from '../../src/config/audit';
import { configSchema } from '../../src/config/schema';

const STRONG = 'Tq7#vLm2pX';
const STRONG_URL = encodeURIComponent(STRONG);

/** A config with nothing to report but the informational lockdown finding, merged one level deep with `over`. */
function config(over: Record<string, Record<string, unknown>> = {}) {
  const base: Record<string, Record<string, unknown>> = {
    node: { id: 'node-a', role: 'primary' },
    peer: { id: 'node-b', uri: 'sip:node-b@198.51.100.2', addresses: ['198.51.100.2'] },
    drachtio: { secret: STRONG },
    ipbx: {
      registrar: 'sip:ipbx.example',
      aor: 'sip:appsrv@ipbx.example',
      contact: 'sip:appsrv@198.51.100.1',
      username: 'appsrv',
      password: STRONG,
      addresses: ['192.0.2.10'],
    },
    app: { target: 'sip:app@127.0.0.1:5070' },
    admin: { token: 'Hq8mZ2xrWk5p' },
    redis: { url: 'redis://127.0.0.1:6379', password: 'Rq6wNs3yPb' },
  };
  const merged = { ...base };
  for (const [section, fields] of Object.entries(over)) merged[section] = { ...base[section], ...fields };
  return configSchema.parse(merged);
}

function find(findings: Finding[], key: string): Finding[] {
  return findings.filter((f) => f.key === key);
}

t.test('a hardened config has only the lockdown note and exits 0', async (t) => {
  const findings = auditConfig(config());
  t.same(findings.map((f) => [f.severity, f.key]), [['low', 'security.lockdown']]);
  t.equal(auditExitCode(findings), 0);
});

t.test('weak SIP password and admin token are high', async (t) => {
  const findings = auditConfig(config({ ipbx: { password: '1234' }, admin: { token: 'HelloYou' } }));
  t.same(find(findings, 'ipbx.password'), [{ severity: 'high', key: 'ipbx.password', message: 'a well-known trivial or vendor-default value' }]);
  t.same(find(findings, 'admin.token'), [{ severity: 'high', key: 'admin.token', message: 'needs a digit' }]);
  t.equal(auditExitCode(findings), 1);
});

t.test('an unset admin token is informational', async (t) => {
  const findings = auditConfig(config({ admin: { token: undefined } }));
  t.match(find(findings, 'admin.token'), [{ severity: 'low', message: /disabled/ }]);
  t.equal(auditExitCode(findings), 0);
});

t.test('admin exposure beyond loopback', async (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '::ffff:127.0.0.1']) {
    t.same(find(auditConfig(config({ admin: { host } })), 'admin.host'), [], host);
  }
  t.match(find(auditConfig(config({ admin: { host: '0.0.0.0' } })), 'admin.host'), [{ severity: 'high', message: /0\.0\.0\.0 without TLS/ }]);
  t.match(find(auditConfig(config({ admin: { host: '::' } })), 'admin.host'), [{ severity: 'high' }], 'IPv6 any');
  t.match(find(auditConfig(config({ admin: { host: '192.0.2.50', tls: { cert: 'c.pem', key: 'k.pem' } } })), 'admin.host'), [
    { severity: 'low', message: /TLS on/ },
  ]);
});

t.test('metrics beyond loopback are a low finding: no secret, but who owns and how busy', async (t) => {
  t.same(find(auditConfig(config()), 'metrics.host'), [], 'loopback by default');
  t.same(find(auditConfig(config({ metrics: { host: '0.0.0.0', port: 9464 } })), 'metrics.host'), [
    { severity: 'low', key: 'metrics.host', message: 'serves /metrics on 0.0.0.0:9464 in clear, without a token: let only the Prometheus server reach it (firewall)' },
  ]);
});

t.test('a sips: registrar is a low reminder that drachtio-server alone decides whether the IPBX certificate is checked', async (t) => {
  t.same(find(auditConfig(config()), 'ipbx.registrar'), [], 'nothing for sip:');
  t.match(find(auditConfig(config({ ipbx: { registrar: 'sips:ipbx.example:5061' } })), 'ipbx.registrar'), [
    { severity: 'low', message: /DRACHTIO_TLS_VERIFY_CLIENT_CERT=1 and the IPBX's CA in --chain-file, and its name never is/ },
  ]);
});

t.test('redis password: from redis.password or from the URL, medium when weak', async (t) => {
  t.same(find(auditConfig(config({ redis: { url: 'redis://127.0.0.1:6379', password: 'changeme' } })), 'redis.password'), [
    { severity: 'medium', key: 'redis.password', message: 'a well-known trivial or vendor-default value' },
  ]);
  t.same(find(auditConfig(config({ redis: { url: 'redis://127.0.0.1:6379', password: STRONG } })), 'redis.password'), []);
  t.match(find(auditConfig(config({ redis: { url: 'redis://:short@127.0.0.1:6379' } })), 'redis.url'), [{ severity: 'medium', message: /too short/ }]);
  t.same(find(auditConfig(config({ redis: { url: `redis://:${STRONG_URL}@127.0.0.1:6379` } })), 'redis.url'), [], 'percent-decoded');
  t.same(find(auditConfig(config({ redis: { url: 'redis://127.0.0.1:6379' } })), 'redis.url'), [], 'no password at all');
  t.same(find(auditConfig(config({ redis: { url: 'not a url' } })), 'redis.url'), [], 'an unparsable URL is the client’s error, not a secret');
});

t.test('a store without a password is medium; plain TCP beyond loopback is low', async (t) => {
  t.match(find(auditConfig(config({ redis: { password: undefined } })), 'redis.password'), [{ severity: 'medium', message: /^not set: anyone who reaches Redis/ }]);
  t.same(find(auditConfig(config({ redis: { password: undefined, url: `redis://:${STRONG_URL}@127.0.0.1:6379` } })), 'redis.password'), [], 'in the URL');
  t.match(find(auditConfig(config({ redis: { url: 'redis://192.0.2.20:6379' } })), 'redis.url'), [{ severity: 'low', message: /plain TCP to 192\.0\.2\.20/ }]);
  t.same(find(auditConfig(config({ redis: { url: 'rediss://192.0.2.20:6379' } })), 'redis.url'), [], 'rediss://');
  t.same(find(auditConfig(config({ redis: { url: 'redis://192.0.2.20:6379', tls: {} } })), 'redis.url'), [], 'redis.tls');
  t.match(find(auditConfig(config({ redis: { sentinelPassword: 'HelloYou' } })), 'redis.sentinelPassword'), [{ severity: 'medium', message: /needs a digit/ }]);
});

t.test("drachtio's vendor default secret is high, other weak secrets medium", async (t) => {
  t.match(find(auditConfig(config({ drachtio: { secret: 'cymru' } })), 'drachtio.secret'), [{ severity: 'high', message: /vendor default/ }]);
  t.match(find(auditConfig(config({ drachtio: { secret: 'Cymru' } })), 'drachtio.secret'), [{ severity: 'high' }]);
  t.match(find(auditConfig(config({ drachtio: { secret: 'abcdefgh' } })), 'drachtio.secret'), [{ severity: 'medium', message: /run/ }]);
});

t.test('trusted lists wider than /8 are high, naming the entry', async (t) => {
  const findings = auditConfig(
    config({ security: { trusted: ['10.0.0.0/8', '0.0.0.0/0'] }, peer: { addresses: ['198.51.100.2', '64.0.0.0/2'] } }),
  );
  t.same(find(findings, 'security.trusted[0]'), [], '/8 is the widest accepted');
  t.match(find(findings, 'security.trusted[1]'), [{ severity: 'high', message: /every IPv4 source/ }]);
  t.match(find(findings, 'peer.addresses[1]'), [{ severity: 'high', message: /2\^30 addresses/ }]);
  t.equal(auditExitCode(findings), 1);
});

t.test('an empty peer list is medium unless lockdown refuses the peer anyway', async (t) => {
  t.match(find(auditConfig(config({ peer: { addresses: [] } })), 'peer.addresses'), [{ severity: 'medium', message: /refused/ }]);
  const locked = auditConfig(config({ peer: { addresses: [] }, security: { lockdown: true } }));
  t.same(find(locked, 'peer.addresses'), []);
  t.match(find(locked, 'security.lockdown'), [{ severity: 'low', message: /^on:/ }]);
});

t.test('a single verification attempt is low', async (t) => {
  t.match(find(auditConfig(config({ verification: { attempts: 1 } })), 'verification.attempts'), [{ severity: 'low' }]);
  t.same(find(auditConfig(config({ verification: { attempts: 2 } })), 'verification.attempts'), []);
});

t.test('formatFindings sorts by severity and aligns columns', async (t) => {
  const text = formatFindings([
    { severity: 'low', key: 'security.lockdown', message: 'off' },
    { severity: 'high', key: 'ipbx.password', message: 'too short' },
    { severity: 'medium', key: 'peer.addresses', message: 'empty' },
  ]);
  t.equal(
    text,
    [
      'SEVERITY  KEY                MESSAGE',
      'high      ipbx.password      too short',
      'medium    peer.addresses     empty',
      'low       security.lockdown  off',
    ].join('\n'),
  );
  t.equal(formatFindings([]), 'no findings');
});

t.test('auditExitCode', async (t) => {
  t.equal(auditExitCode([]), 0);
  t.equal(auditExitCode([{ severity: 'medium', key: 'k', message: 'm' }, { severity: 'low', key: 'k', message: 'm' }]), 0);
  t.equal(auditExitCode([{ severity: 'low', key: 'k', message: 'm' }, { severity: 'high', key: 'k', message: 'm' }]), 1);
});
