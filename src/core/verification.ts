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
  | { readonly kind: 'verdict'; readonly verdict: SipVerdict; readonly joined: boolean; readonly cached: boolean }
  | { readonly kind: 'cancelled' };

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

  constructor(
    private readonly opts: VerificationOptions,
    private readonly delegate: VerificationDelegate,
    private readonly clock: Clock,
  ) {}

  /** The number of calls currently waiting on a verification. */
  get pending(): number {
    return this.cycle?.waiters ?? 0;
  }

  /** Forgets a cached `alive` verdict (e.g. after ownership changed). */
  invalidate(): void {
    this.lastAlive = null;
  }

  async verify(signal?: AbortSignal): Promise<VerificationResult> {
    if (signal?.aborted) return { kind: 'cancelled' };
    const cached = this.lastAlive;
    if (cached && this.clock.now() - cached.decidedAt < this.opts.aliveTtlMs) {
      return { kind: 'verdict', verdict: cached, joined: false, cached: true };
    }
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
