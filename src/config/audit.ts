import type { Config } from './schema';
import { isLoopbackHost, parseCidr } from '../core/acl';
import { secretWeakness } from '../core/secrets';
import { urlPassword } from './secrets';

export type Severity = 'high' | 'medium' | 'low';

export interface Finding {
  severity: Severity;
  key: string;
  message: string;
}

const SEVERITY_ORDER: readonly Severity[] = ['high', 'medium', 'low'];
/** Shorter prefixes trust more than sixteen million sources: no IPBX or peer needs that. */
const MIN_TRUSTED_PREFIX = 8;
const DRACHTIO_DEFAULT_SECRET = 'cymru';

function weakSecret(severity: Severity, key: string, value: string | undefined): Finding[] {
  if (value === undefined) return [];
  const weakness = secretWeakness(value);
  return weakness === null ? [] : [{ severity, key, message: weakness }];
}

/**
 * Every store credential is reviewed, the URL's too; a store without one lets
 * anyone who reaches it move ownership, and plain TCP beyond loopback carries
 * the password in clear.
 */
function redisFindings(redis: Config['redis']): Finding[] {
  if (redis === undefined) return [];
  const fromUrl = urlPassword(redis.url);
  const findings = [
    ...weakSecret('medium', 'redis.password', redis.password),
    ...weakSecret('medium', 'redis.url', fromUrl),
    ...weakSecret('medium', 'redis.sentinelPassword', redis.sentinelPassword),
  ];
  if (redis.password === undefined && fromUrl === undefined) {
    findings.push({ severity: 'medium', key: 'redis.password', message: 'not set: anyone who reaches Redis can move ownership; set requirepass (or an ACL user) on Redis and here' });
  }
  if (redis.url !== undefined && URL.canParse(redis.url) && !redis.tls) {
    const url = new URL(redis.url);
    if (url.protocol === 'redis:' && !isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ''))) {
      findings.push({ severity: 'low', key: 'redis.url', message: `plain TCP to ${url.hostname}: the password and ownership cross the network in clear (rediss:// for TLS)` });
    }
  }
  return findings;
}

function drachtioFindings(secret: string): Finding[] {
  if (secret.toLowerCase() === DRACHTIO_DEFAULT_SECRET) {
    return [
      {
        severity: 'high',
        key: 'drachtio.secret',
        message: `"${DRACHTIO_DEFAULT_SECRET}" is drachtio-server's vendor default: anyone who reaches its admin port can drive SIP`,
      },
    ];
  }
  return weakSecret('medium', 'drachtio.secret', secret);
}

function adminFindings(admin: Config['admin']): Finding[] {
  const findings = weakSecret('high', 'admin.token', admin.token);
  if (admin.token === undefined) {
    findings.push({ severity: 'low', key: 'admin.token', message: 'not set: failback and switchover over the admin API are disabled' });
  }
  if (!isLoopbackHost(admin.host)) {
    findings.push(
      admin.tls === undefined
        ? { severity: 'high', key: 'admin.host', message: `listens on ${admin.host} without TLS: the token and ownership state cross the network in clear` }
        : { severity: 'low', key: 'admin.host', message: `listens on ${admin.host} (TLS on): restrict who can reach it with a firewall` },
    );
  }
  return findings;
}

/** Metrics carry no secret, but they tell whoever reads them which node owns and how busy it is. */
function metricsFindings(metrics: Config['metrics']): Finding[] {
  if (isLoopbackHost(metrics.host)) return [];
  return [
    {
      severity: 'low',
      key: 'metrics.host',
      message: `serves /metrics on ${metrics.host}:${metrics.port} in clear, without a token: let only the Prometheus server reach it (firewall)`,
    },
  ];
}

/** The agent cannot see drachtio-server's environment, where alone the IPBX's certificate check is turned on. */
function sipTlsFindings(ipbx: Config['ipbx']): Finding[] {
  if (!ipbx.registrar.startsWith('sips:')) return [];
  return [
    {
      severity: 'low',
      key: 'ipbx.registrar',
      message: "sips: the IPBX's certificate is checked only if drachtio-server runs with DRACHTIO_TLS_VERIFY_CLIENT_CERT=1 and the IPBX's CA in --chain-file, and its name never is",
    },
  ];
}

/** Every list that feeds the SIP ACL, reviewed entry by entry so the key names the culprit. */
function trustedListFindings(cfg: Config): Finding[] {
  const lists: [string, readonly string[]][] = [
    ['ipbx.addresses', cfg.ipbx.addresses],
    ['peer.addresses', cfg.peer?.addresses ?? []],
    ['security.trusted', cfg.security.trusted],
  ];
  return lists.flatMap(([listKey, entries]) =>
    entries.flatMap((entry, i): Finding[] => {
      const key = `${listKey}[${i}]`;
      // The schema has already refused entries that do not parse.
      const prefix = parseCidr(entry).prefix;
      if (prefix >= MIN_TRUSTED_PREFIX) return [];
      const message = prefix === 0 ? `${entry} trusts every IPv4 source` : `${entry} trusts 2^${32 - prefix} addresses; narrow it to the real sources`;
      return [{ severity: 'high', key, message }];
    }),
  );
}

/**
 * Lockdown refuses the peer too; then the peer's probes of this node get 403 and
 * only the heartbeat keeps a split from looking like a dead owner.
 */
function lockdownFindings(cfg: Config): Finding[] {
  if (cfg.security.lockdown) {
    return [{ severity: 'low', key: 'security.lockdown', message: "on: only the IPBX is accepted; the peer's probes get 403 and the heartbeat alone tells busy from dead" }];
  }
  const findings: Finding[] = [
    { severity: 'low', key: 'security.lockdown', message: 'off: the peer, security.trusted and loopback are accepted besides the IPBX' },
  ];
  if (cfg.peer && cfg.peer.addresses.length === 0) {
    findings.push({
      severity: 'medium',
      key: 'peer.addresses',
      message: 'empty: SIP from the peer (its probes of this node) is refused unless security.trusted covers it',
    });
  }
  return findings;
}

/**
 * What `understudy audit` reports about a config that already passed the schema:
 * the guide's default-password check plus exposure that is legal but risky.
 */
export function auditConfig(cfg: Config): Finding[] {
  const findings: Finding[] = [
    ...weakSecret('high', 'ipbx.password', cfg.ipbx.password),
    ...sipTlsFindings(cfg.ipbx),
    ...adminFindings(cfg.admin),
    ...metricsFindings(cfg.metrics),
    ...redisFindings(cfg.redis),
    ...drachtioFindings(cfg.drachtio.secret),
    ...trustedListFindings(cfg),
    ...lockdownFindings(cfg),
  ];
  if (cfg.verification.attempts === 1) {
    findings.push({ severity: 'low', key: 'verification.attempts', message: 'a single lost OPTIONS or answer is enough to take over' });
  }
  return findings;
}

/** Severity first, config order within a severity; columns padded for a terminal. */
export function formatFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'no findings';
  const sorted = [...findings].sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
  const header = { severity: 'SEVERITY', key: 'KEY', message: 'MESSAGE' };
  const rows = [header, ...sorted];
  const severityWidth = Math.max(...rows.map((r) => r.severity.length));
  const keyWidth = Math.max(...rows.map((r) => r.key.length));
  return rows.map((r) => `${r.severity.padEnd(severityWidth)}  ${r.key.padEnd(keyWidth)}  ${r.message}`).join('\n');
}

/** Non-zero when something must be fixed, so `understudy audit` can gate a deployment. */
export function auditExitCode(findings: readonly Finding[]): number {
  return findings.some((f) => f.severity === 'high') ? 1 : 0;
}
