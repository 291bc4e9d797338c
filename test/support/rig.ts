/** One agent on its own drachtio-server with SIPp playing everything around it. */
import type { Test } from 'tap';
import { type RunningAgent, startAgent } from './agent';
import { type Drachtio, startDrachtio } from './drachtio';
import { TOOLS, withTools } from './preconditions';
import { freeTcpPort } from './processes';
import { startRedis } from './redis';
import { isRequest, type Sipp, startSipp, statusOf } from './sipp';
import { selfSignedCert, startTlsRelay, type TlsRelay } from './tls';
import { startVersionRelay } from './version-relay';
import { contactOf, NET, nodeConfig, registrarKeys, SECRETS, sipsContactOf } from './topology';

/** Runs the e2e file's tests, or says in one line why they cannot run here (a failure in CI). */
export function e2e(t: Test, run: () => void): void {
  withTools(t, 'e2e', [TOOLS.drachtio, TOOLS.sipp, TOOLS.redis, TOOLS.openssl], run);
}

export interface Rig {
  readonly drachtio: Drachtio;
  readonly registrar: Sipp;
  readonly primary: Sipp | null;
  readonly app: Sipp;
  readonly agent: RunningAgent;
  /** With `tls`: the TLS front of the registrar. */
  readonly tlsRelay: TlsRelay | null;
}

/**
 * One agent on its own drachtio-server with its SIPp peers, torn down with the test.
 * `owner`: the agent is the configured primary (it registers and bridges);
 * otherwise it is the secondary and a SIPp plays the primary at NET.nodeA.
 * `tls`: the agent reaches the registrar over SIP TLS — drachtio-server gets a
 * TLS listener, the registrar SIPp runs on TCP behind a TLS relay on
 * NET.sipsPort, and the config names `sips:` URIs for the registrar and contact.
 * With `verify`, drachtio-server verifies the relay's certificate against the
 * CA that issued it (`registrar-ca`) or against an unrelated one (`another-ca`);
 * without, it checks nothing. `registrarName`: the name the relay's certificate
 * is for (its address by default).
 */
export async function rig(
  t: Test,
  o: {
    owner?: boolean;
    tls?: { readonly verify?: 'registrar-ca' | 'another-ca'; readonly registrarName?: string };
    registrarPassword?: string;
    /** A header line the registrar's 200 to a REGISTER adds beside the contact it binds (registrarKeys `others`). */
    registrarAlsoLists?: string;
    app?: 'app-uas.xml' | 'app-uas-cancel.xml' | 'app-uas-info.xml' | 'app-uas-bye-at-once.xml';
    appPauseMs?: number;
    /** The agent reaches drachtio-server through a relay that reports this version string. */
    serverVersion?: string;
    overrides?: Record<string, Record<string, unknown>>;
  } = {},
): Promise<Rig> {
  const address = o.owner ? NET.nodeA : NET.nodeB;
  const peer = o.owner ? NET.nodeB : NET.nodeA;
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  // Self-signed: the registrar's certificate is its own CA.
  const registrarCert = o.tls ? selfSignedCert(o.tls.registrarName ?? NET.registrar) : null;
  const drachtioCert = o.tls ? selfSignedCert(address) : null;
  const verifyWith = { 'registrar-ca': registrarCert?.cert, 'another-ca': drachtioCert?.cert, none: undefined }[o.tls?.verify ?? 'none'];
  const drachtio = await startDrachtio({
    sipAddress: address,
    sipPort: NET.sipPort,
    adminPort: await freeTcpPort(),
    secret: SECRETS.drachtio,
    ...(drachtioCert ? { tls: { port: NET.sipsPort, ...drachtioCert, ...(verifyWith ? { verifyWith } : {}) } } : {}),
  });
  t.teardown(() => drachtio.stop());
  const relay = o.serverVersion === undefined ? null : await startVersionRelay(drachtio.opts.adminPort, o.serverVersion);
  if (relay) t.teardown(() => relay.stop());
  const registrar = startSipp({
    scenario: 'ipbx-registrar.xml',
    localIp: NET.registrar,
    localPort: NET.sipPort,
    ...(o.tls ? { transport: 't1' as const } : {}),
    keys: registrarKeys({
      ...(o.registrarPassword ? { password: o.registrarPassword } : {}),
      // Before a takeover the registrar holds the primary's binding.
      ...(o.owner ? {} : { bindings: `Contact: <${contactOf(peer)}>;expires=120` }),
      ...(o.registrarAlsoLists ? { others: o.registrarAlsoLists } : {}),
    }),
  });
  t.teardown(() => registrar.stop());
  const tlsRelay = registrarCert
    ? await startTlsRelay({ host: NET.registrar, port: NET.sipsPort }, { host: NET.registrar, port: NET.sipPort }, registrarCert)
    : null;
  if (tlsRelay) t.teardown(() => tlsRelay.stop());
  const tlsUris = o.tls ? { registrar: `sips:${NET.registrar}:${NET.sipsPort}`, contact: sipsContactOf(address) } : {};
  const primary = o.owner ? null : startSipp({ scenario: 'primary-options.xml', localIp: peer, localPort: NET.sipPort });
  if (primary) t.teardown(() => primary.stop());
  const app = startSipp({ scenario: o.app ?? 'app-uas.xml', localIp: NET.appB, localPort: NET.appPort, pauseMs: o.appPauseMs ?? 100 });
  t.teardown(() => app.stop());
  const config = await nodeConfig({
    id: o.owner ? 'node-a' : 'node-b',
    role: o.owner ? 'primary' : 'secondary',
    address,
    peerAddress: peer,
    app: NET.appB,
    drachtioPort: relay?.port ?? drachtio.opts.adminPort,
    redisUrl: redis.url,
    overrides: { ...o.overrides, ipbx: { ...tlsUris, ...o.overrides?.ipbx } },
  });
  const agent = await startAgent(config);
  t.teardown(() => agent.stop());
  await agent.waitForLog((l) => l.msg === 'local app answers its health probe', 5000, 'the local app to be healthy');
  return { drachtio, registrar, primary, app, agent, tlsRelay };
}

export function call(
  address: string,
  scenario = 'caller.xml',
  extra: { calls?: number; rate?: number; pauseMs?: number; service?: string; from?: string; keys?: Record<string, string> } = {},
): Sipp {
  return startSipp({
    scenario,
    remote: `${address}:${NET.sipPort}`,
    localIp: extra.from ?? NET.caller,
    ...(extra.service ? { service: extra.service } : {}),
    ...(extra.keys ? { keys: extra.keys } : {}),
    localPort: NET.callerPort,
    calls: extra.calls ?? 1,
    pauseMs: extra.pauseMs ?? 200,
    timeoutSec: 30,
    ...(extra.rate !== undefined ? { rate: extra.rate } : {}),
  });
}

export const finals = (s: Sipp) =>
  s
    .messages()
    .filter((m) => m.direction === 'received' && (statusOf(m) ?? 0) >= 200 && m.header('CSeq')?.endsWith('INVITE'))
    .map((m) => statusOf(m));
export const received = (s: Sipp, method: string) => s.messages().filter((m) => m.direction === 'received' && isRequest(m, method));

