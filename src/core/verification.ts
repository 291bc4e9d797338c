import { type Clock, sleep } from './clock';
import { probeOnce, type SendProbe } from './probe';
import type { ProbeResult, SipVerdict } from './types';

export interface VerificationOptions {
  readonly attempts: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly aliveTtlMs: number;
  readonly aliveStatuses: readonly number[];
}

export type VerificationResult =
  | {
      readonly kind: 'verdict';
      readonly verdict: SipVerdict;
      readonly joined: boolean;
      readonly cached: boolean;
      /** Decided from the owner watch's probes, made before the call arrived (see `record`). */
      readonly evidence?: true;
    }
  | { readonly kind: 'cancelled' };

/**
 * The owner dead from probes already made, or null when they do not say so:
 * the `attempts` newest completed probes (by when they were sent) all failed,
 * and the newest of them is recent (within two probe periods), so a watch that
 * stopped does not speak for now. A probe still in flight is not waited for:
 * its answer would come too late to change a verdict the failures reached.
 */
export function deadFromEvidence(recent: readonly ProbeResult[], now: number, opts: Pick<VerificationOptions, 'attempts' | 'intervalMs' | 'timeoutMs'>): SipVerdict | null {
  const newest = recent.slice(-opts.attempts);
  if (newest.length < opts.attempts || newest.some((p) => p.outcome === 'alive')) return null;
  const last = newest[newest.length - 1] as ProbeResult;
  if (now - (last.at + last.rttMs) > 2 * (opts.intervalMs + opts.timeoutMs)) return null;
  return { alive: false, probes: newest, decidedAt: now };
}

/** Lets the owner of the verifier see each probe as it completes (metrics, logs). */
export interface VerificationDelegate {
  readonly sendProbe: SendProbe;
  onProbe?(result: ProbeResult): void;
  onVerdict?(verdict: SipVerdict): void;
}

interface Cycle {
  readonly promise: Promise<SipVerdict | null>;
  readonly controller: AbortController;
  waiters: number;
}

/**
 * Checks whether the owner is alive with up to `attempts` OPTIONS probes.
 *
 * One cycle serves many calls: overflow INVITEs that arrive while a cycle runs
 * join it instead of probing again, and an `alive` verdict answers later calls
 * for `aliveTtlMs`. A dead verdict is never cached: the next call must look
 * again, because the takeover it leads to is not something to do on old news.
 *
 * When every call waiting on a cycle has gone (CANCEL), the cycle stops: no
 * probe is sent for nobody.
 */
export class Verifier {
  private cycle: Cycle | null = null;
  private lastAlive: SipVerdict | null = null;
  /** The owner watch's completed probes, oldest first by when they were sent; a few more than `attempts`. */
  private recent: ProbeResult[] = [];

  constructor(
    private readonly opts: VerificationOptions,
    private readonly delegate: VerificationDelegate,
    private readonly clock: Clock,
  ) {}

  /** The number of calls currently waiting on a verification. */
  get pending(): number {
    return this.cycle?.waiters ?? 0;
  }

  /** Forgets what was learnt of the owner (e.g. after ownership changed): it was about the previous one. */
  invalidate(): void {
    this.lastAlive = null;
    this.recent = [];
  }

  /**
   * A probe of the owner made outside any call (the owner watch), so that an
   * overflow call is decided from evidence already in hand: the newest answer
   * alive refreshes the alive cache, a failure drops it, and `attempts`
   * consecutive failures make a dead verdict at once (deadFromEvidence).
   */
  record(probe: ProbeResult): void {
    const i = this.recent.findIndex((p) => p.at > probe.at);
    if (i === -1) this.recent.push(probe);
    else this.recent.splice(i, 0, probe);
    if (this.recent.length > this.opts.attempts + 2) this.recent.shift();
    if (this.recent[this.recent.length - 1] !== probe) return; // an older probe answering late says nothing new
    this.lastAlive = probe.outcome === 'alive' ? { alive: true, probes: [probe], decidedAt: probe.at + probe.rttMs } : null;
  }

  /** The owner dead from the watch's probes alone, now, or null. */
  deadFromEvidence(): SipVerdict | null {
    return deadFromEvidence(this.recent, this.clock.now(), this.opts);
  }

  async verify(signal?: AbortSignal): Promise<VerificationResult> {
    if (signal?.aborted) return { kind: 'cancelled' };
    const cached = this.lastAlive;
    if (cached && this.clock.now() - cached.decidedAt < this.opts.aliveTtlMs) {
      return { kind: 'verdict', verdict: cached, joined: false, cached: true };
    }
    const dead = this.deadFromEvidence();
    if (dead) return { kind: 'verdict', verdict: dead, joined: false, cached: false, evidence: true };
    const joined = this.cycle !== null;
    const cycle = this.cycle ?? this.startCycle();
    cycle.waiters += 1;
    let onAbort: (() => void) | undefined;
    const cancelled = new Promise<null>((resolve) => {
      onAbort = () => resolve(null);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    const verdict = await Promise.race([cycle.promise, cancelled]);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    cycle.waiters -= 1;
    if (verdict === null) {
      if (cycle.waiters === 0) {
        // Detach at once: a call arriving before the aborted cycle settles must start a fresh one.
        if (this.cycle === cycle) this.cycle = null;
        cycle.controller.abort();
      }
      return { kind: 'cancelled' };
    }
    return { kind: 'verdict', verdict, joined, cached: false };
  }

  private startCycle(): Cycle {
    const controller = new AbortController();
    const cycle: Cycle = { promise: this.run(controller.signal), controller, waiters: 0 };
    this.cycle = cycle;
    const clear = () => {
      if (this.cycle === cycle) this.cycle = null;
    };
    cycle.promise.then(clear, clear);
    return cycle;
  }

  /** Resolves null when aborted, else the verdict. */
  private async run(signal: AbortSignal): Promise<SipVerdict | null> {
    const probes: ProbeResult[] = [];
    for (let attempt = 1; attempt <= this.opts.attempts; attempt++) {
      const result = await probeOnce(
        this.delegate.sendProbe,
        { attempt, timeoutMs: this.opts.timeoutMs, aliveStatuses: this.opts.aliveStatuses },
        this.clock,
        signal,
      );
      if (signal.aborted) return null;
      probes.push(result);
      this.delegate.onProbe?.(result);
      if (result.outcome === 'alive') return this.conclude(true, probes);
      if (attempt < this.opts.attempts && !(await sleep(this.clock, this.opts.intervalMs, signal))) return null;
    }
    return this.conclude(false, probes);
  }

  private conclude(alive: boolean, probes: readonly ProbeResult[]): SipVerdict {
    const verdict: SipVerdict = { alive, probes, decidedAt: this.clock.now() };
    this.lastAlive = alive ? verdict : null;
    this.delegate.onVerdict?.(verdict);
    return verdict;
  }
}
