import { freeTcpPort } from './processes';

/**
 * The /24 of 127/8 the test network lives in. Two runs side by side (two
 * checkouts on one machine) each take their own, so their fixed SIP ports never
 * meet: UNDERSTUDY_TEST_NET=127.0.1 puts every role at 127.0.1.x.
 */
const PREFIX = testNetPrefix(process.env.UNDERSTUDY_TEST_NET ?? '127.0.0');

function testNetPrefix(p: string): string {
  if (!/^127\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)$/.test(p)) {
    throw new Error(`UNDERSTUDY_TEST_NET must be three octets inside 127/8 (e.g. 127.0.1), got "${p}"`);
  }
  return p;
}

/** Loopback addresses of the test network: one per role, so SIPp and drachtio never share a socket. */
export const NET = {
  nodeA: `${PREFIX}.11`,
  nodeB: `${PREFIX}.12`,
  /** Where a probe goes when the path to the peer is cut: a frozen SIPp. */
  cutPath: `${PREFIX}.13`,
  registrar: `${PREFIX}.20`,
  caller: `${PREFIX}.21`,
  appA: `${PREFIX}.31`,
  appB: `${PREFIX}.32`,
  /** The benchmark's bare drachtio-srf app, on a drachtio-server of its own beside the agent's. */
  baseline: `${PREFIX}.40`,
  /** A source no list trusts. */
  outsider: `${PREFIX}.66`,
  sipPort: 5060,
  sipsPort: 5061,
  appPort: 5080,
  callerPort: 5070,
} as const;

export const SECRETS = {
  sipUser: 'appsrv',
  sipPassword: 'Tq7vLm2pXa',
  adminToken: 'Adm1nTok3nXq',
  drachtio: 'Dr4chtioTest9',
} as const;

export const AOR = `sip:${SECRETS.sipUser}@${NET.registrar}`;

/**
 * The keys of ipbx-registrar.xml: the account, what a query REGISTER reports
 * (`bindings`), and what a 200 to a REGISTER lists beside the contact it binds
 * (`others`: none unless a test says). Each is a whole header line.
 */
export function registrarKeys(o: { password?: string; bindings?: string; others?: string } = {}): Record<string, string> {
  return {
    username: SECRETS.sipUser,
    password: o.password ?? SECRETS.sipPassword,
    bindings: o.bindings ?? 'X-Bindings: none',
    others: o.others ?? 'X-Others: none',
  };
}
export const contactOf = (address: string) => `sip:${SECRETS.sipUser}@${address}:${NET.sipPort}`;
export const sipsContactOf = (address: string) => `sips:${SECRETS.sipUser}@${address}:${NET.sipsPort}`;

export interface NodeSpec {
  readonly id: 'node-a' | 'node-b';
  readonly role: 'primary' | 'secondary';
  readonly address: string;
  readonly peerAddress: string;
  readonly app: string;
  readonly drachtioPort: number;
  readonly redisUrl?: string;
  readonly mode?: 'ha' | 'backup';
  readonly overrides?: Record<string, Record<string, unknown>>;
}

/** A full agent config for one node of the test network. */
export async function nodeConfig(spec: NodeSpec): Promise<Record<string, unknown>> {
  const base: Record<string, Record<string, unknown> | string> = {
    node: { id: spec.id, role: spec.role },
    mode: spec.mode ?? 'ha',
    peer: { id: spec.id === 'node-a' ? 'node-b' : 'node-a', uri: `sip:${spec.peerAddress}:${NET.sipPort}`, addresses: [spec.peerAddress] },
    drachtio: { host: '127.0.0.1', port: spec.drachtioPort, secret: SECRETS.drachtio, retryMaxDelayMs: 1000 },
    ipbx: {
      registrar: `sip:${NET.registrar}:${NET.sipPort}`,
      aor: AOR,
      contact: contactOf(spec.address),
      username: SECRETS.sipUser,
      password: SECRETS.sipPassword,
      expires: 300,
      addresses: [NET.registrar, NET.caller],
    },
    app: { target: `sip:app@${spec.app}:${NET.appPort}`, channels: 200, healthIntervalMs: 500, healthTimeoutMs: 300 },
    verification: { attempts: 3, intervalMs: 200, timeoutMs: 1000, aliveTtlMs: 5000 },
    heartbeat: { intervalMs: 300, staleAfterMs: 1200 },
    admin: { host: '127.0.0.1', port: await freeTcpPort(), token: SECRETS.adminToken },
    metrics: { host: '127.0.0.1', port: await freeTcpPort() },
    // Each line at once: tests read the log right after the event that wrote it.
    log: { level: 'info', flushMs: 0 },
    ...(spec.redisUrl ? { redis: { url: spec.redisUrl, commandTimeoutMs: 300 } } : {}),
  };
  for (const [section, values] of Object.entries(spec.overrides ?? {})) {
    base[section] = { ...(base[section] as Record<string, unknown>), ...values };
  }
  return base;
}
