/**
 * Soak: a pair on loopback for SOAK_MINUTES (default 30), the owner bridging
 * calls at SOAK_RATE (default 250/s, about half the bridged path's clean
 * ceiling in the README's run) while the non-owner dissuades overflow calls at
 * SOAK_OVERFLOW_RATE (default 50/s). Each minute: both agents' RSS, sampled
 * every 5 s (its floor and peak), and event loop lag p99 (prom-client's, reset
 * at each scrape, so per minute). Reports whether the RSS floor stays within
 * ±5 % after the warm-up; exits 1 when a call failed.
 * Not in CI. Bounded: SOAK_MINUTES steps of 60 s, each bounded like a bench step.
 * Run: npm run soak   (SOAK_MINUTES, SOAK_RATE, SOAK_OVERFLOW_RATE)
 */
import { type RunningAgent, startAgent } from '../test/support/agent';
import { type Drachtio, startDrachtio } from '../test/support/drachtio';
import { agentMetric } from '../test/support/metrics';
import { TOOLS, unavailable } from '../test/support/preconditions';
import { freeTcpPort, waitFor } from '../test/support/processes';
import { startRedis } from '../test/support/redis';
import { NET, nodeConfig, SECRETS } from '../test/support/topology';
import { rssMiB, type Step, step } from './load';
import { app, AS_DEPLOYED, PATHS, registrar, statusIs } from './paths';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const RATE = Number(process.env.SOAK_RATE ?? 250);
const OVERFLOW_RATE = Number(process.env.SOAK_OVERFLOW_RATE ?? 50);
/** Minutes left out of the flatness check: the JIT, pools and buffers grow to their working size first. */
const WARM_UP_MINUTES = Math.min(3, Math.floor(MINUTES / 3));
const FLAT = 0.05;

/**
 * RSS of a minute, in MiB. A single sample lands anywhere on the collector's sawtooth (at 250 calls/s
 * the owner's swings by 40 MiB between collections); the floor, what is left after one, is what a
 * leak raises.
 */
interface Rss {
  readonly floor: number;
  readonly peak: number;
}

const RSS_SAMPLE_MS = 5000;

/** `work`, with the RSS of each of `pids` sampled every RSS_SAMPLE_MS while it runs. */
async function sampledRss<T>(pids: readonly number[], work: Promise<T>): Promise<{ result: T; rss: Rss[] }> {
  const samples = pids.map((): number[] => []);
  const take = () => {
    for (const [i, pid] of pids.entries()) {
      try {
        samples[i]?.push(rssMiB(pid));
      } catch {
        // The process is gone mid-minute (no /proc entry): its calls fail, and the step reports that.
      }
    }
  };
  take();
  const timer = setInterval(take, RSS_SAMPLE_MS);
  try {
    const result = await work;
    take();
    return { result, rss: samples.map((xs) => ({ floor: Math.min(...xs), peak: Math.max(...xs) })) };
  } finally {
    clearInterval(timer);
  }
}

interface Minute {
  readonly bridged: Step;
  readonly overflow: Step;
  readonly rssOwner: Rss;
  readonly rssOther: Rss;
  readonly lagOwnerMs: number;
  readonly lagOtherMs: number;
}

const lagP99Ms = async (agent: RunningAgent) => (await agentMetric(agent, 'nodejs_eventloop_lag_p99_seconds')) * 1000;

async function soak(owner: RunningAgent, other: RunningAgent, drachtio: readonly [Drachtio, Drachtio]): Promise<Minute[]> {
  const minutes: Minute[] = [];
  process.stdout.write('minute  bridged ok/calls retr  p99 ms | overflow ok/calls retr | RSS MiB floor/peak, owner  other | loop lag p99 ms owner other\n');
  for (let i = 1; i <= MINUTES; i++) {
    const { result: [bridged, overflow], rss: [rssOwner, rssOther] } = await sampledRss([owner.proc.pid, other.proc.pid], Promise.all([
      step({ scenario: PATHS.bridged!.scenario, remote: `${NET.nodeA}:${NET.sipPort}`, rate: RATE, seconds: 60, watched: { app: owner.proc.pid, drachtio: drachtio[0].pid() } }),
      step({
        scenario: PATHS.dissuasion!.scenario,
        remote: `${NET.nodeB}:${NET.sipPort}`,
        rate: OVERFLOW_RATE,
        seconds: 60,
        watched: { app: other.proc.pid, drachtio: drachtio[1].pid() },
        callerPort: NET.callerPort + 1,
      }),
    ]));
    const m: Minute = {
      bridged,
      overflow,
      rssOwner: rssOwner as Rss,
      rssOther: rssOther as Rss,
      lagOwnerMs: await lagP99Ms(owner),
      lagOtherMs: await lagP99Ms(other),
    };
    minutes.push(m);
    process.stdout.write(
      `${String(i).padStart(6)}  ${`${bridged.ok}/${bridged.calls}`.padStart(16)} ${String(bridged.retransmissions).padStart(4)} ${String(bridged.p99).padStart(7)} | ` +
        `${`${overflow.ok}/${overflow.calls}`.padStart(17)} ${String(overflow.retransmissions).padStart(4)} | ${rssCell(m.rssOwner).padStart(18)} ${rssCell(m.rssOther).padStart(12)} | ` +
        `${m.lagOwnerMs.toFixed(1).padStart(21)} ${m.lagOtherMs.toFixed(1).padStart(5)}\n`,
    );
  }
  return minutes;
}

const rssCell = (r: Rss) => `${r.floor.toFixed(1)}/${r.peak.toFixed(1)}`;

/** Largest deviation from the mean, as a fraction of it. */
const spread = (xs: readonly number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.max(...xs.map((x) => Math.abs(x - mean) / mean));
};

async function main(): Promise<number> {
  const missing = unavailable('soak', [TOOLS.drachtio, TOOLS.sipp, TOOLS.redis]);
  if (missing) {
    process.stdout.write(`${missing}\n`);
    return 0;
  }
  const redis = await startRedis();
  const drachtio = [
    await startDrachtio({ sipAddress: NET.nodeA, sipPort: NET.sipPort, adminPort: await freeTcpPort(), secret: SECRETS.drachtio }),
    await startDrachtio({ sipAddress: NET.nodeB, sipPort: NET.sipPort, adminPort: await freeTcpPort(), secret: SECRETS.drachtio }),
  ] as const;
  const peers = [app(NET.appA), app(NET.appB), registrar()];
  const agents: RunningAgent[] = [];
  try {
    const node = async (id: 'node-a' | 'node-b') => {
      const a = id === 'node-a';
      const cfg = await nodeConfig({
        id,
        role: a ? 'primary' : 'secondary',
        address: a ? NET.nodeA : NET.nodeB,
        peerAddress: a ? NET.nodeB : NET.nodeA,
        app: a ? NET.appA : NET.appB,
        drachtioPort: drachtio[a ? 0 : 1].opts.adminPort,
        redisUrl: redis.url,
        overrides: { app: { channels: 10_000 }, ...AS_DEPLOYED },
      });
      const agent = await startAgent(cfg);
      agents.push(agent);
      return agent;
    };
    const owner = await node('node-a');
    await waitFor(() => statusIs(owner, { isOwner: true, registered: true, appHealthy: true }), 15_000, 'the owner to register');
    const other = await node('node-b');
    await waitFor(() => statusIs(other, { owner: 'node-a', isOwner: false, appHealthy: true }), 15_000, 'the non-owner to know the owner');
    const minutes = await soak(owner, other, drachtio);
    const failed = minutes.reduce((n, m) => n + m.bridged.failed + m.overflow.failed, 0);
    const calls = minutes.reduce((n, m) => n + m.bridged.calls + m.overflow.calls, 0);
    const settled = minutes.slice(WARM_UP_MINUTES);
    const owners = settled.map((m) => m.rssOwner.floor);
    const others = settled.map((m) => m.rssOther.floor);
    const peak = (xs: readonly Rss[]) => Math.max(...xs.map((r) => r.peak)).toFixed(1);
    const verdict = (xs: number[]) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)} MiB, ±${(spread(xs) * 100).toFixed(1)} % (${spread(xs) <= FLAT ? 'flat' : 'NOT flat'})`;
    process.stdout.write(
      `\nsoak: ${MINUTES} min, bridged ${RATE}/s + overflow ${OVERFLOW_RATE}/s: ${calls} calls, ${failed} failed\n` +
        `RSS floor after ${WARM_UP_MINUTES} min of warm-up: owner ${verdict(owners)}; non-owner ${verdict(others)}\n` +
        `RSS peak after warm-up: owner ${peak(settled.map((m) => m.rssOwner))} MiB, non-owner ${peak(settled.map((m) => m.rssOther))} MiB\n` +
        `event loop lag p99, worst minute: owner ${Math.max(...minutes.map((m) => m.lagOwnerMs)).toFixed(1)} ms, non-owner ${Math.max(...minutes.map((m) => m.lagOtherMs)).toFixed(1)} ms\n`,
    );
    return failed === 0 ? 0 : 1;
  } finally {
    for (const a of agents) await a.stop();
    await Promise.all([...peers.map((p) => p.stop()), ...drachtio.map((d) => d.stop()), redis.stop()]);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
