/**
 * Load benchmark: understudy against a bare drachtio-srf app doing the same
 * job, on the same drachtio-server and the same SIPp peers, in the same run,
 * on each call path, at rising rates. Reported as ratios, never asserted as
 * times: the exit code is non-zero only when a call failed or something crashed.
 *
 * Paths:
 * - bridged: the owner relays each INVITE to its local app (bare: createB2BUA);
 * - dissuasion: a non-owner refuses overflow INVITEs with 486 while the owner
 *   answers its OPTIONS (bare: an app that only answers 486).
 *
 * Bounded: each step is RATE x BENCH_SECONDS calls; a call waiting 10 s for a
 * response fails; SIPp stops itself after the step's time plus 30 s.
 * Run: npm run bench   (BENCH_RATES=100,200 BENCH_SECONDS=5 BENCH_PATHS=bridged,dissuasion)
 */
import { resolve } from 'node:path';
import { type RunningAgent, startAgent } from '../test/support/agent';
import { type Drachtio, startDrachtio } from '../test/support/drachtio';
import { TOOLS, unavailable } from '../test/support/preconditions';
import { freeTcpPort, type Proc, start, waitFor } from '../test/support/processes';
import { startRedis } from '../test/support/redis';
import { type Sipp, startSipp } from '../test/support/sipp';
import { NET, nodeConfig, SECRETS } from '../test/support/topology';

const RATES = (process.env.BENCH_RATES ?? '100,200').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const PATHS = (process.env.BENCH_PATHS ?? 'bridged,dissuasion').split(',');
const RECV_TIMEOUT_MS = 10_000;
const ROOT = resolve(__dirname, '..');

interface Step {
  readonly rate: number;
  readonly calls: number;
  readonly ok: number;
  /** Failed at SIPp, or never finished. */
  readonly failed: number;
  readonly retransmissions: number;
  readonly cps: number;
  /** SIPp times responses in whole ms: below a few ms the mean says more than the percentiles. */
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
}

interface Contender {
  readonly name: string;
  readonly steps: Step[];
}

/** One call path: where its INVITEs go, the SIPp peers around it, and its two contenders. */
interface Path {
  readonly name: string;
  readonly address: string;
  readonly scenario: string;
  /** The SIPp peers the path needs besides the caller (the local app, the registrar, the owner). */
  peers(): Sipp[];
  /** `redisUrl`: a fresh redis-server of the run's; a pair's node needs one. */
  agentConfig(drachtioPort: number, redisUrl: string): Promise<Record<string, unknown>>;
  /** Resolves once the agent is in the state the path measures. */
  agentReady(agent: RunningAgent): Promise<void>;
  /** The bare drachtio-srf app: script and arguments. */
  bare(drachtioPort: number): string[];
}

const percentile = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN) : NaN;
};

const app = (address: string) => startSipp({ scenario: 'app-uas.xml', localIp: address, localPort: NET.appPort, pauseMs: 0, timeoutSec: 900, trace: 'stats' });

const statusIs = async (agent: RunningAgent, want: Record<string, unknown>) => {
  const body = (await agent.admin('/status')).body as Record<string, unknown>;
  return Object.entries(want).every(([k, v]) => body[k] === v);
};

const PATH_TABLE: Record<string, Path> = {
  bridged: {
    name: 'bridged (owner to its local app)',
    address: NET.nodeA,
    scenario: 'bench-caller-bridged.xml',
    peers: () => [
      app(NET.appA),
      startSipp({
        scenario: 'ipbx-registrar.xml',
        localIp: NET.registrar,
        localPort: NET.sipPort,
        keys: { username: SECRETS.sipUser, password: SECRETS.sipPassword, bindings: 'X-Bindings: none' },
        timeoutSec: 900,
        trace: 'stats',
      }),
    ],
    // Single node (no peer, no Redis): the call path a production owner runs, channels unbounded.
    agentConfig: async (port) => {
      const cfg = await nodeConfig({ id: 'node-a', role: 'primary', address: NET.nodeA, peerAddress: NET.nodeB, app: NET.appA, drachtioPort: port });
      delete cfg.peer;
      return { ...cfg, app: { ...(cfg.app as object), channels: 10_000 } };
    },
    agentReady: (agent) => waitFor(() => statusIs(agent, { isOwner: true, registered: true, appHealthy: true }), 15_000, 'the owner to register'),
    bare: (port) => [resolve(__dirname, 'minimal-b2bua.ts'), String(port), SECRETS.drachtio, `sip:app@${NET.appA}:${NET.appPort}`],
  },
  dissuasion: {
    name: 'dissuasion (non-owner, owner alive)',
    address: NET.nodeB,
    scenario: 'bench-caller-refused.xml',
    peers: () => [app(NET.appB), startSipp({ scenario: 'primary-options.xml', localIp: NET.nodeA, localPort: NET.sipPort, timeoutSec: 900, trace: 'stats' })],
    // A fresh store: the configured primary (the SIPp owner) is made the owner at epoch 1.
    agentConfig: (port, redisUrl) => nodeConfig({ id: 'node-b', role: 'secondary', address: NET.nodeB, peerAddress: NET.nodeA, app: NET.appB, drachtioPort: port, redisUrl }),
    agentReady: (agent) => waitFor(() => statusIs(agent, { owner: 'node-a', isOwner: false, appHealthy: true }), 15_000, 'the non-owner to know the owner'),
    bare: (port) => [resolve(__dirname, 'minimal-reject.ts'), String(port), SECRETS.drachtio],
  },
};

/** One load step against whatever app is connected to the path's drachtio-server. */
async function step(path: Path, rate: number): Promise<Step> {
  const calls = Math.max(1, Math.round(rate * SECONDS));
  const started = Date.now();
  const caller = startSipp({
    scenario: path.scenario,
    remote: `${path.address}:${NET.sipPort}`,
    localIp: NET.caller,
    localPort: NET.callerPort,
    calls,
    rate,
    pauseMs: 0,
    timeoutSec: SECONDS + 30,
    recvTimeoutMs: RECV_TIMEOUT_MS,
    trace: 'stats',
  });
  await caller.finished((SECONDS + 40) * 1000);
  const elapsed = (Date.now() - started) / 1000;
  const stats = caller.stats();
  const times = caller.responseTimes();
  const ok = stats?.successful ?? 0;
  return {
    rate,
    calls,
    ok,
    failed: calls - ok,
    retransmissions: stats?.retransmissions ?? NaN,
    cps: ok / elapsed,
    mean: times.length ? times.reduce((a, b) => a + b, 0) / times.length : NaN,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
  };
}

async function measure(path: Path, drachtio: Drachtio): Promise<Contender[]> {
  const port = drachtio.opts.adminPort;
  const redis = await startRedis();
  const ours: Step[] = [];
  try {
    const agent = await startAgent(await path.agentConfig(port, redis.url));
    try {
      await path.agentReady(agent);
      for (const rate of RATES) ours.push(await step(path, rate));
    } finally {
      await agent.stop();
    }
  } finally {
    await redis.stop();
  }
  const bare: Proc = start(process.execPath, ['--import', '@tapjs/typescript/import', ...path.bare(port)], { cwd: ROOT });
  const theirs: Step[] = [];
  try {
    await waitFor(() => bare.output().includes('connected'), 15_000, `the bare app to connect\n${bare.output()}`);
    for (const rate of RATES) theirs.push(await step(path, rate));
  } finally {
    await bare.stop();
  }
  return [
    { name: 'understudy', steps: ours },
    { name: 'bare drachtio-srf', steps: theirs },
  ];
}

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-').padStart(6);

function table(path: Path, [ours, bare]: Contender[]): string {
  const rows = [
    `\n${path.name}: ${SECONDS} s per rate; setup = INVITE to final response at the caller (ms)`,
    'rate/s | understudy ok/calls    cps   mean    p50    p99 retr | bare ok/calls    cps   mean    p50    p99 retr | ratio  cps   mean    p99',
  ];
  RATES.forEach((rate, i) => {
    const o = ours?.steps[i];
    const b = bare?.steps[i];
    if (!o || !b) return;
    rows.push(
      `${String(rate).padStart(6)} | ${`${o.ok}/${o.calls}`.padStart(19)} ${f(o.cps)} ${f(o.mean, 2)} ${f(o.p50)} ${f(o.p99)} ${String(o.retransmissions).padStart(4)} | ${`${b.ok}/${b.calls}`.padStart(13)} ${f(b.cps)} ${f(b.mean, 2)} ${f(b.p50)} ${f(b.p99)} ${String(b.retransmissions).padStart(4)} | ${f(o.cps / b.cps, 2)} ${f(o.mean / b.mean, 2)} ${f(o.p99 / b.p99, 2)}`,
    );
  });
  return rows.join('\n');
}

async function main(): Promise<number> {
  const missing = unavailable('bench', [TOOLS.drachtio, TOOLS.sipp, TOOLS.redis]);
  if (missing) {
    process.stdout.write(`${missing}\n`);
    return process.env.CI === 'true' ? 1 : 0;
  }
  let failed = 0;
  let total = 0;
  for (const key of PATHS) {
    const path = PATH_TABLE[key];
    if (!path) throw new Error(`unknown bench path "${key}" (known: ${Object.keys(PATH_TABLE).join(', ')})`);
    const drachtio = await startDrachtio({ sipAddress: path.address, sipPort: NET.sipPort, adminPort: await freeTcpPort(), secret: SECRETS.drachtio });
    const peers = path.peers();
    try {
      const result = await measure(path, drachtio);
      process.stdout.write(`${table(path, result)}\n`);
      for (const s of result.flatMap((c) => c.steps)) {
        failed += s.failed;
        total += s.calls;
      }
    } finally {
      await Promise.all([...peers.map((p) => p.stop()), drachtio.stop()]);
    }
  }
  process.stdout.write(`\nbench: ${total} calls, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
