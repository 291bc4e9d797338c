import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load';
import { auditConfig, formatFindings } from '../../src/config/audit';
import { TOOLS, withTools } from '../support/preconditions';
import { scratchDir } from '../support/processes';

/** The secret files an operator puts in ./secrets, here in a scratch directory named by UNDERSTUDY_SECRETS. */
const SECRETS: Record<string, string> = {
  ipbx_password: 'Tq7vLm2pXa',
  admin_token: 'Hq8mZ2xrWk5p',
  drachtio_secret: 'Dr4chtioTest9',
  redis_password: 'Rq6wNs3yPb',
};
const secretsDir = scratchDir('compose-secrets');
for (const [name, value] of Object.entries(SECRETS)) {
  writeFileSync(join(secretsDir, name), `${value}\n`);
  chmodSync(join(secretsDir, name), 0o600);
}

interface Service {
  image?: string;
  user?: string;
  depends_on?: Record<string, { condition?: string }>;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: { target: number; published: number; protocol: string }[];
  networks?: Record<string, unknown>;
  network_mode?: string;
  secrets?: { source: string }[];
}
interface Resolved {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  networks: Record<string, { internal?: boolean }>;
  secrets: Record<string, { file: string }>;
}

/** No Docker engine runs here; `docker-compose config` still validates and resolves the file. */
function resolve(): { text: string; resolved: Resolved } {
  const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { env: { PATH: process.env.PATH ?? '', UNDERSTUDY_SECRETS: secretsDir }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker-compose config failed: ${r.stderr}`);
  return { text: r.stdout, resolved: parse(r.stdout) as Resolved };
}

const AGENTS = ['understudy-a', 'understudy-b'] as const;

withTools(t, 'docker-compose', [TOOLS.dockerCompose], () => {
  const { text, resolved } = resolve();

  t.test('docker-compose.yml is valid and runs the pair as deployed', async (t) => {
    t.strictSame(Object.keys(resolved.services).sort(), ['drachtio-a', 'drachtio-b', 'redis', 'redis-data-owner', 'understudy-a', 'understudy-b']);
    t.match(resolved.services['drachtio-a']?.image, /^drachtio\/drachtio-server/);
    for (const agent of AGENTS) t.ok(resolved.services[agent]?.build, `${agent} is built from the Dockerfile`);
  });

  t.test('secrets are files: never an environment value, an argument, or in the resolved file', async (t) => {
    for (const [name, value] of Object.entries(SECRETS)) {
      t.equal(resolved.secrets[name]?.file, join(secretsDir, name), name);
      t.notMatch(text, value, `${name}'s value is nowhere in the resolved file`);
    }
    for (const agent of AGENTS) {
      const env = resolved.services[agent]?.environment ?? {};
      t.strictSame(
        Object.keys(env).filter((k) => /PASSWORD|TOKEN|SECRET/.test(k)).sort(),
        ['UNDERSTUDY_ADMIN__TOKEN_FILE', 'UNDERSTUDY_DRACHTIO__SECRET_FILE', 'UNDERSTUDY_IPBX__PASSWORD_FILE', 'UNDERSTUDY_REDIS__PASSWORD_FILE'],
        agent,
      );
    }
    for (const name of ['drachtio-a', 'drachtio-b']) t.notMatch(resolved.services[name]?.command?.join(' '), '--secret', `${name} gets no --secret argument`);
    t.match(resolved.services.redis?.command?.join(' '), /redis-server - .*<<EOF\nrequirepass \$\$\(cat \/run\/secrets\/redis_password\)/, 'Redis requires the password, given on stdin');
  });

  t.test('Redis persists: append-only file on a named volume it can write, so a restart keeps ownership, epochs and history', async (t) => {
    const redis = resolved.services.redis!;
    t.match(redis.command?.join(' '), /redis-server - .*--appendonly yes/, 'append-only file on');
    t.strictSame(redis.volumes, ['redis-data:/data:rw'], 'its data directory is the named volume');
    t.ok(resolved.volumes && 'redis-data' in resolved.volumes, 'the volume is declared');
    const owner = resolved.services['redis-data-owner']!;
    t.strictSame(owner.volumes, ['redis-data:/data:rw']);
    t.strictSame(owner.command, ['chown', redis.user, '/data'], "the volume handed to the user Redis runs as");
    t.strictSame(redis.depends_on?.['redis-data-owner'], { condition: 'service_completed_successfully' }, 'Redis starts once the volume is its own');
    t.equal(owner.network_mode, 'none', 'the one-shot helper has no network');
  });

  t.test('nothing is published but SIP; drachtio admin, Redis and the admin API stay inside', async (t) => {
    const published = Object.entries(resolved.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => `${name}:${p.published}->${p.target}/${p.protocol}`));
    t.strictSame(published.sort(), ['drachtio-a:5060->5060/tcp', 'drachtio-a:5060->5060/udp', 'drachtio-b:5062->5060/tcp', 'drachtio-b:5062->5060/udp']);
    t.strictSame(resolved.networks.store, { internal: true });
    t.strictSame(Object.keys(resolved.services.redis?.networks ?? {}), ['store'], 'Redis only on the internal network');
    for (const [agent, drachtio] of [['understudy-a', 'drachtio-a'], ['understudy-b', 'drachtio-b']] as const) {
      t.equal(resolved.services[agent]?.network_mode, `service:${drachtio}`, `${agent} shares ${drachtio}'s loopback`);
      t.match(resolved.services[drachtio]?.command?.join(' '), /--address 127\.0\.0\.1 /, `${drachtio}'s admin port on loopback`);
      t.equal(resolved.services[agent]?.environment?.UNDERSTUDY_DRACHTIO__HOST, '127.0.0.1');
      t.equal(resolved.services[agent]?.environment?.UNDERSTUDY_ADMIN__HOST, '127.0.0.1', `${agent}'s admin API on loopback`);
    }
  });

  t.test('metrics are scraped on an internal network of their own; the admin API is not on it', async (t) => {
    t.strictSame(resolved.networks.metrics, { internal: true });
    for (const [agent, drachtio] of [['understudy-a', 'drachtio-a'], ['understudy-b', 'drachtio-b']] as const) {
      t.ok(Object.keys(resolved.services[drachtio]?.networks ?? {}).includes('metrics'), `${agent}'s namespace (${drachtio}'s) is on the metrics network`);
      t.equal(resolved.services[agent]?.environment?.UNDERSTUDY_METRICS__HOST, '0.0.0.0', `${agent}'s metrics listener reachable there`);
    }
    t.strictSame(Object.keys(resolved.services.redis?.networks ?? {}), ['store'], 'Redis is not on it');
  });

  t.test('the agents load their configs and secrets as deployed, and the audit finds nothing high', async (t) => {
    for (const agent of AGENTS) {
      const s = resolved.services[agent]!;
      const configFile = (s.volumes ?? []).map((v) => v.split(':')).find(([, target]) => target === '/etc/understudy/config.yaml')?.[0];
      if (!configFile) throw new Error(`${agent} mounts no config`);
      // Each /run/secrets/<name> is the secret file compose mounts there.
      const env = Object.fromEntries(
        Object.entries(s.environment ?? {}).map(([k, v]) => [k, v.startsWith('/run/secrets/') ? resolved.secrets[basename(v)]!.file : v]),
      );
      const cfg = loadConfig(configFile, env);
      t.equal(cfg.redis?.password, SECRETS.redis_password, `${agent} reads the Redis password Redis requires`);
      const findings = auditConfig(cfg);
      t.comment(`understudy audit, ${agent}:\n${formatFindings(findings)}`);
      t.strictSame(findings.filter((f) => f.severity === 'high'), [], agent);
    }
  });
});
