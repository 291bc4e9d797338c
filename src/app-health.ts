import type { Logger } from 'pino';
import { type Clock, type TimerHandle } from './core/clock';
import { probeOnce, type SendProbe } from './core/probe';

export interface AppHealthDelegate {
  onChange(healthy: boolean): void;
}

/**
 * Probes the local application at a fixed interval. Our own OPTIONS answer (200
 * or 503) and our heartbeat status both follow it, so the peer sees this node as
 * dead when its application is.
 */
export class AppHealth {
  private healthy = false;
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(
    private readonly send: SendProbe,
    private readonly opts: { readonly intervalMs: number; readonly timeoutMs: number },
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly delegate: AppHealthDelegate,
  ) {}

  get isHealthy(): boolean {
    return this.healthy;
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

  private async check(): Promise<void> {
    const r = await probeOnce(this.send, { attempt: 1, timeoutMs: this.opts.timeoutMs, aliveStatuses: [200] }, this.clock);
    if (this.stopped) return;
    const healthy = r.outcome === 'alive';
    if (healthy !== this.healthy) {
      this.healthy = healthy;
      if (healthy) this.log.info('local app answers its health probe');
      else this.log.warn({ outcome: r.outcome, status: r.status, detail: r.detail }, 'local app does not answer its health probe');
      this.delegate.onChange(healthy);
    }
    this.timer = this.clock.setTimer(this.opts.intervalMs, () => void this.check());
  }
}
