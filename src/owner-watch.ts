import type { Logger } from 'pino';
import type { Clock, TimerHandle } from './core/clock';
import { probeOnce, type SendProbe } from './core/probe';
import type { ProbeResult, SipVerdict } from './core/types';

export interface OwnerWatchDelegate {
  onProbe(probe: ProbeResult): void;
  /** Raised once `attempts` probes in a row failed, before any call overflows; cleared by an answer. */
  onUnreachable(raised: boolean): void;
}

/** What the watch feeds: the verifier keeps the probes and judges them (core/verification.ts). */
export interface EvidenceSink {
  record(probe: ProbeResult): void;
  deadFromEvidence(): SipVerdict | null;
}

export interface OwnerWatchOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly aliveStatuses: readonly number[];
}

/**
 * While another node owns, probes it every `intervalMs` with the same OPTIONS
 * a verification sends, without waiting for the previous answer: the checks a
 * dead owner needs are made before the call that reveals it, so that call is
 * decided from evidence in hand instead of waiting `attempts` probes.
 */
export class OwnerWatch {
  private timer: TimerHandle | null = null;
  private running = false;
  private sent = 0;
  private unreachable = false;

  constructor(
    private readonly send: SendProbe,
    private readonly evidence: EvidenceSink,
    private readonly opts: OwnerWatchOptions,
    /** True while another node owns: the only time there is an owner to watch. */
    private readonly watching: () => boolean,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly delegate: OwnerWatchDelegate,
  ) {}

  start(): void {
    this.running = true;
    this.tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private tick(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimer(this.opts.intervalMs, () => this.tick());
    if (!this.watching()) {
      this.setUnreachable(false, null);
      return;
    }
    this.sent += 1;
    probeOnce(this.send, { attempt: this.sent, timeoutMs: this.opts.timeoutMs, aliveStatuses: this.opts.aliveStatuses }, this.clock)
      .then((probe) => {
        if (!this.running) return;
        this.evidence.record(probe);
        this.delegate.onProbe(probe);
        if (probe.outcome === 'alive') this.setUnreachable(false, null);
        else this.setUnreachable(true, this.evidence.deadFromEvidence());
      })
      .catch((err: unknown) => this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'owner watch failed'));
  }

  /** `dead`: the evidence when raising; raising waits until there is enough of it. */
  private setUnreachable(raise: boolean, dead: SipVerdict | null): void {
    if (raise && (dead === null || this.unreachable)) return;
    if (!raise && !this.unreachable) return;
    this.unreachable = raise;
    if (raise) this.log.error({ probes: dead?.probes }, 'the owner does not answer its probes: the next overflow call is decided at once');
    else this.log.info('the owner answers its probes again');
    this.delegate.onUnreachable(raise);
  }
}
