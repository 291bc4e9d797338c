import type { Logger } from 'pino';
import { type Clock, type TimerHandle } from './core/clock';
import { type HealthEvent, type HealthEvidence, healthStep, UNKNOWN_HEALTH } from './core/health-evidence';
import { probeOnce, type SendProbe } from './core/probe';
import type { ProbeResult } from './core/types';

export interface AppHealthDelegate {
  onChange(healthy: boolean): void;
}

/**
 * Probes the local application at a fixed interval. Our own OPTIONS answer (200
 * or 503) and our heartbeat status both follow it, so the peer sees this node as
 * dead when its application is. A call that fails to reach the app makes it
 * look again at once (core/health-evidence.ts weighs the two).
 */
export class AppHealth {
  private evidence: HealthEvidence = UNKNOWN_HEALTH;
  private timer: TimerHandle | null = null;
  private stopped = false;
  private checking = false;

  constructor(
    private readonly send: SendProbe,
    private readonly opts: { readonly intervalMs: number; readonly timeoutMs: number; readonly failuresToDown: number },
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly delegate: AppHealthDelegate,
  ) {}

  get isHealthy(): boolean {
    return this.evidence.healthy;
  }

  start(): void {
    this.stopped = false;
    void this.check();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  /** A call could not reach the app (no answer, or a 408/503 from the stack): look again now, not at the next tick. */
  callFailed(): void {
    this.apply('call-failed', null);
    this.checkNow();
  }

  /** Probes now unless a probe is in flight (then its answer is as fresh); the interval restarts from here. */
  checkNow(): void {
    if (this.checking || this.stopped) return;
    if (this.timer) this.clock.clearTimer(this.timer);
    void this.check();
  }

  private async check(): Promise<void> {
    this.checking = true;
    const r = await probeOnce(this.send, { attempt: 1, timeoutMs: this.opts.timeoutMs, aliveStatuses: [200] }, this.clock);
    this.checking = false;
    if (this.stopped) return;
    this.apply(r.outcome === 'alive' ? 'probe-answered' : 'probe-failed', r);
    this.timer = this.clock.setTimer(this.opts.intervalMs, () => void this.check());
  }

  private apply(event: HealthEvent, probe: ProbeResult | null): void {
    const before = this.evidence;
    this.evidence = healthStep(before, event, this.opts.failuresToDown);
    const detail = probe && { outcome: probe.outcome, status: probe.status, detail: probe.detail };
    if (event === 'probe-failed' && this.evidence.healthy) {
      this.log.info({ ...detail, failures: this.evidence.failures, failuresToDown: this.opts.failuresToDown }, 'a health probe of the local app failed; still healthy');
    }
    if (this.evidence.healthy === before.healthy) return;
    if (this.evidence.healthy) this.log.info('local app answers its health probe');
    else this.log.warn({ ...detail, failures: this.evidence.failures, afterFailedCall: this.evidence.suspect }, 'local app does not answer its health probe');
    this.delegate.onChange(this.evidence.healthy);
  }
}
