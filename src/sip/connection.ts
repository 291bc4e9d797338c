import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../core/clock';
import { closeSilentConnections, connectSrf, onConnectionEvent, type ConnectOptions, type Srf } from './srf';

export interface ConnectionDelegate {
  onConnected(hostport: string): void;
  onDisconnected(): void;
}

/**
 * Keeps the app connected to drachtio-server whatever the start order: drachtio-srf
 * retries with a back-off capped at `retryMaxDelayMs`, and a watchdog closes a
 * connection whose pings go unanswered so the retry starts.
 */
export class DrachtioConnection {
  private up = false;
  private warned = false;
  private watchdog: TimerHandle | null = null;

  constructor(
    private readonly srf: Srf,
    private readonly opts: ConnectOptions,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly delegate: ConnectionDelegate,
  ) {}

  get connected(): boolean {
    return this.up;
  }

  start(): void {
    this.srf.on('connect', (err, hostport) => {
      if (err) {
        this.log.error({ err: err.message }, 'drachtio-server refused the connection (check drachtio.secret)');
        return;
      }
      this.up = true;
      this.warned = false;
      this.log.info({ hostport }, 'connected to drachtio-server');
      this.delegate.onConnected(hostport);
    });
    // drachtio-srf throws on an 'error' event nobody listens to. While down, every
    // retry fails the same way: only the first failure is worth a warning.
    this.srf.on('error', (err) => {
      if (this.up || !this.warned) this.log.warn({ err: err.message }, 'drachtio connection error; retrying');
      else this.log.debug({ err: err.message }, 'drachtio connection error');
      this.warned = true;
    });
    onConnectionEvent(this.srf, 'close', () => this.lost());
    onConnectionEvent(this.srf, 'reconnecting', (info) => this.log.debug(info, 'reconnecting to drachtio-server'));
    if (!connectSrf(this.srf, this.opts)) {
      this.log.warn('this drachtio-srf does not expose its pings: a silently dead drachtio-server will not be noticed');
    }
    this.scheduleWatchdog();
  }

  stop(): void {
    if (this.watchdog) this.clock.clearTimer(this.watchdog);
    this.watchdog = null;
    this.srf.disconnect();
  }

  private lost(): void {
    if (!this.up) return;
    this.up = false;
    this.log.error('lost the connection to drachtio-server; reconnecting');
    this.delegate.onDisconnected();
  }

  private scheduleWatchdog(): void {
    this.watchdog = this.clock.setTimer(Math.max(5000, this.opts.pingIntervalMs), () => {
      if (closeSilentConnections(this.srf, 2) > 0) this.log.error('drachtio-server stopped answering pings; reconnecting');
      this.scheduleWatchdog();
    });
  }
}
