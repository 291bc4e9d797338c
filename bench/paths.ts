/**
 * The call paths the benchmark and the soak drive: where the caller's requests
 * go, the SIPp peers around the node, how the agent is configured for the path,
 * and the bare drachtio-srf app it is measured against.
 */
import { resolve } from 'node:path';
import { LOG_FLUSH_MS } from '../src/log';
import type { RunningAgent } from '../test/support/agent';
import { waitFor } from '../test/support/processes';
import { type Sipp, startSipp } from '../test/support/sipp';
import { NET, nodeConfig, registrarKeys, SECRETS } from '../test/support/topology';

export interface Path {
  readonly key: string;
  readonly name: string;
  readonly address: string;
  readonly scenario: string;
  /** The caller of the overload step, which also accepts the agent's shedding response; none for a path without INVITEs. */
  readonly shedScenario?: string;
  /** The SIPp peers the path needs besides the caller (the local app, the registrar, the owner). */
  peers(): Sipp[];
  /** `redisUrl`: a fresh redis-server of the run's; a pair's node needs one. */
  agentConfig(drachtioPort: number, redisUrl: string): Promise<Record<string, unknown>>;
  /** Resolves once the agent is in the state the path measures. */
  agentReady(agent: RunningAgent): Promise<void>;
  /** The bare drachtio-srf app: script and arguments. */
  bare(drachtioPort: number): string[];
}

/** How long the local app (a SIPp) waits after its 180 before it answers 200. */
export const APP_ANSWER_MS = 0;

export const app = (address: string) =>
  startSipp({ scenario: 'app-uas.xml', localIp: address, localPort: NET.appPort, pauseMs: APP_ANSWER_MS, timeoutSec: 3600, trace: 'stats' });

/** The owner as a non-owner's probes see it: a SIPp at node-a answering every OPTIONS 200. */
export const owner = () => startSipp({ scenario: 'primary-options.xml', localIp: NET.nodeA, localPort: NET.sipPort, timeoutSec: 3600, trace: 'stats' });

export const registrar = () =>
  startSipp({
    scenario: 'ipbx-registrar.xml',
    localIp: NET.registrar,
    localPort: NET.sipPort,
    keys: registrarKeys(),
    timeoutSec: 3600,
    trace: 'stats',
  });

/** Whether the agent's /status holds these values; false while its admin API is not up yet. */
export const statusIs = async (agent: RunningAgent, want: Record<string, unknown>) => {
  const body = (await agent.admin('/status').catch(() => ({ body: {} }))).body as Record<string, unknown>;
  return Object.entries(want).every(([k, v]) => body[k] === v);
};

/** Over the tests' config: the log batched as deployed (the tests write each line at once to read it at once). */
export const AS_DEPLOYED = { log: { flushMs: LOG_FLUSH_MS } };

/** Single node (no peer, no Redis): the call path a production owner runs, channels unbounded. */
async function singleOwner(port: number): Promise<Record<string, unknown>> {
  const cfg = await nodeConfig({ id: 'node-a', role: 'primary', address: NET.nodeA, peerAddress: NET.nodeB, app: NET.appA, drachtioPort: port, overrides: AS_DEPLOYED });
  delete cfg.peer;
  return { ...cfg, app: { ...(cfg.app as object), channels: 10_000 } };
}

const ownerReady = (agent: RunningAgent) => waitFor(() => statusIs(agent, { isOwner: true, registered: true, appHealthy: true }), 15_000, 'the owner to register');
const responder = (port: number, method: 'invite' | 'options', status: number) => [
  resolve(__dirname, 'minimal-responder.ts'),
  String(port),
  SECRETS.drachtio,
  method,
  String(status),
];

export const PATHS: Record<string, Path> = {
  bridged: {
    key: 'bridged',
    name: 'bridged (owner to its local app)',
    address: NET.nodeA,
    scenario: 'bench-caller-bridged.xml',
    shedScenario: 'bench-caller-shed.xml',
    peers: () => [app(NET.appA), registrar()],
    agentConfig: singleOwner,
    agentReady: ownerReady,
    bare: (port) => [resolve(__dirname, 'minimal-b2bua.ts'), String(port), SECRETS.drachtio, `sip:app@${NET.appA}:${NET.appPort}`],
  },
  dissuasion: {
    key: 'dissuasion',
    name: 'dissuasion (non-owner, owner alive)',
    address: NET.nodeB,
    scenario: 'bench-caller-refused.xml',
    // Shed or not, a non-owner's answer is its dissuasion (486): the same caller.
    shedScenario: 'bench-caller-refused.xml',
    peers: () => [app(NET.appB), owner()],
    // A fresh store: the configured primary (the SIPp owner) is made the owner at epoch 1.
    agentConfig: (port, redisUrl) => nodeConfig({ id: 'node-b', role: 'secondary', address: NET.nodeB, peerAddress: NET.nodeA, app: NET.appB, drachtioPort: port, redisUrl, overrides: AS_DEPLOYED }),
    agentReady: (agent) => waitFor(() => statusIs(agent, { owner: 'node-a', isOwner: false, appHealthy: true }), 15_000, 'the non-owner to know the owner'),
    bare: (port) => responder(port, 'invite', 486),
  },
  options: {
    key: 'options',
    name: 'OPTIONS (answered 200 while the local app is healthy)',
    address: NET.nodeA,
    scenario: 'bench-caller-options.xml',
    peers: () => [app(NET.appA), registrar()],
    agentConfig: singleOwner,
    agentReady: ownerReady,
    bare: (port) => responder(port, 'options', 200),
  },
};
