/**
 * One load step of the benchmark and the soak: a SIPp caller at a rate for a
 * while, read back from SIPp's statistics and response-time files, with the
 * CPU the app under test and drachtio-server spent on it, read from /proc.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startSipp } from '../test/support/sipp';
import { NET } from '../test/support/topology';

/** A call waiting this long for a response fails. */
const RECV_TIMEOUT_MS = 10_000;
/** SIPp stops itself this long after the step's time, whatever happens. */
const OVERRUN_SEC = 30;

/** /proc/<pid>/stat counts CPU time in clock ticks. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU time (user + system) a process has used, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count from after its closing parenthesis, where field 3 starts.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Resident set size of a process, in MiB. */
export function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) / 1024;
}

/** The processes whose CPU a step charges to its calls. */
export interface Watched {
  /** The app under test: the agent or the bare drachtio-srf app. */
  readonly app: number;
  readonly drachtio: number;
}

export interface Step {
  readonly rate: number;
  readonly seconds: number;
  readonly calls: number;
  /** SIPp's successful calls: the scenario's expected final response, nothing else. */
  readonly ok: number;
  /** Failed at SIPp, or never finished. */
  readonly failed: number;
  readonly retransmissions: number;
  /** From the step's start to SIPp's exit, in s: how long the last call took to end. */
  readonly elapsed: number;
  readonly cps: number;
  /** SIPp times responses in whole ms: below a few ms the mean says more than the percentiles. */
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU ms per call offered. */
  readonly cpuPerCall: { readonly app: number; readonly drachtio: number };
}

/** The benchmark's definition of keeping up: no call failed and SIPp never had to retransmit. */
export const isClean = (s: Step) => s.failed === 0 && s.retransmissions === 0;

export const percentile = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN) : NaN;
};

export interface StepOptions {
  readonly scenario: string;
  /** Where the caller sends, `ip:port`. */
  readonly remote: string;
  readonly rate: number;
  readonly seconds: number;
  readonly watched: Watched;
  /** Two callers at once need two ports. */
  readonly callerPort?: number;
}

export async function step(o: StepOptions): Promise<Step> {
  const calls = Math.max(1, Math.round(o.rate * o.seconds));
  const cpu0 = { app: cpuMs(o.watched.app), drachtio: cpuMs(o.watched.drachtio) };
  const started = Date.now();
  const caller = startSipp({
    scenario: o.scenario,
    remote: o.remote,
    localIp: NET.caller,
    localPort: o.callerPort ?? NET.callerPort,
    calls,
    rate: o.rate,
    pauseMs: 0,
    timeoutSec: o.seconds + OVERRUN_SEC,
    recvTimeoutMs: RECV_TIMEOUT_MS,
    trace: 'stats',
  });
  await caller.finished((o.seconds + OVERRUN_SEC + 10) * 1000);
  const elapsed = (Date.now() - started) / 1000;
  const stats = caller.stats();
  const times = caller.responseTimes();
  const ok = stats?.successful ?? 0;
  return {
    rate: o.rate,
    seconds: o.seconds,
    calls,
    ok,
    failed: calls - ok,
    retransmissions: stats?.retransmissions ?? NaN,
    elapsed,
    cps: ok / elapsed,
    mean: times.length ? times.reduce((a, b) => a + b, 0) / times.length : NaN,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    cpuPerCall: { app: (cpuMs(o.watched.app) - cpu0.app) / calls, drachtio: (cpuMs(o.watched.drachtio) - cpu0.drachtio) / calls },
  };
}
