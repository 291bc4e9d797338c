import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../core/clock';
import { FaultLog } from '../fault-log';
import { ANSWERING, type LinkState, linkStep, pingsOverdue } from '../core/link-watchdog';
import { closeConnections, connectSrf, onConnectionEvent, pingIntervalOf, startMissingPings, unansweredPings, type ConnectOptions, type Srf } from './srf';

export interface ConnectionDelegate {
  onConnected(): void;
  onDisconnected(): void;
  /** true: this connection's pings are ours, drachtio-srf would not send any (see srf.startMissingPings). */
  onPingsStartedByUs(ours: boolean): void;
}

/** More outstanding pings than this and the server is taken for silent. */
const MAX_UNANSWERED_PINGS = 2;
/** How often the ping bookkeeping is read: a thawed server is noticed within this. */
const WATCHDOG_TICK_MS = 1000;

/**
 * Keeps the app connected to drachtio-server whatever the start order: drachtio-srf
 * retries with a back-off capped at `retryMaxDelayMs`. A watchdog reads the pings:
 * a silent server marks the link down at once, and its connection is replaced
 * only after `replaceSilentAfterMs` (core/link-watchdog.ts says why).
 */
export class DrachtioConnection {
  private up = false;
  /** Down, every retry fails the same way: logged as the fault starts, at a slow pace while it lasts, and as it ends. */
  private readonly unreachable: FaultLog;
  private link: LinkState = ANSWERING;
  private watchdog: TimerHandle | null = null;
  /** When the current connection came up, and who has sent pings on it since. */
  private connectedAt = 0;
  private pingSource: 'none' | 'library' | 'ours' = 'none';

  constructor(
    private readonly srf: Srf,
    private readonly opts: ConnectOptions & { readonly replaceSilentAfterMs: number },
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly delegate: ConnectionDelegate,
  ) {
    this.unreachable = new FaultLog(log, clock, 'drachtio-server reachable again');
  }

  get connected(): boolean {
    return this.up;
  }

  start(): void {
    this.srf.on('connect', (err, hostport, serverVersion?: string) => {
      if (err) {
        this.unreachable.failed('drachtio-server refused the connection (check drachtio.secret)', { err: err.message });
        return;
      }
      this.unreachable.recovered();
      this.link = ANSWERING;
      this.connectedAt = this.clock.now();
      this.pingSource = 'none';
      this.log.info({ hostport, serverVersion }, 'connected to drachtio-server');
      this.markUp();
    });
    // drachtio-srf throws on an 'error' event nobody listens to.
    this.srf.on('error', (err) => this.unreachable.failed('drachtio connection error; retrying', { err: err.message, drachtio: `${this.opts.host}:${this.opts.port}` }));
    onConnectionEvent(this.srf, 'close', () => {
      this.link = ANSWERING;
      if (this.up) this.log.error('lost the connection to drachtio-server; reconnecting');
      this.markDown();
    });
    onConnectionEvent(this.srf, 'reconnecting', (info) => this.log.debug(info, 'reconnecting to drachtio-server'));
    if (!connectSrf(this.srf, this.opts, () => this.onPing())) {
      this.log.warn('this drachtio-srf does not expose its pings: a silently dead drachtio-server will not be noticed');
    }
    this.scheduleWatchdog();
  }

  stop(): void {
    if (this.watchdog) this.clock.clearTimer(this.watchdog);
    this.watchdog = null;
    this.srf.disconnect();
  }

  private markUp(): void {
    this.up = true;
    this.delegate.onConnected();
  }

  private markDown(): void {
    if (!this.up) return;
    this.up = false;
    this.delegate.onDisconnected();
  }

  private scheduleWatchdog(): void {
    this.watchdog = this.clock.setTimer(WATCHDOG_TICK_MS, () => {
      this.checkLink();
      this.scheduleWatchdog();
    });
  }

  private checkLink(): void {
    if (this.up) this.checkPingsRunning();
    const step = linkStep(this.link, unansweredPings(this.srf), this.clock.now(), {
      maxUnanswered: MAX_UNANSWERED_PINGS,
      replaceAfterMs: this.opts.replaceSilentAfterMs,
    });
    this.link = step.state;
    switch (step.action) {
      case 'silent':
        this.log.error({ replaceAfterMs: this.opts.replaceSilentAfterMs }, 'drachtio-server stopped answering pings; link down, connection kept');
        this.markDown();
        return;
      case 'answering':
        this.log.info('drachtio-server answers again on the same connection');
        this.markUp();
        return;
      case 'replace':
        // drachtio-server does not always forget a connection it never saw close:
        // it can go on routing a share of new INVITEs to it, and they are lost.
        this.log.error(
          { silentMs: this.opts.replaceSilentAfterMs, advice: 'if it was frozen rather than gone, restart drachtio-server once it answers' },
          'drachtio-server still silent; replacing the connection',
        );
        closeConnections(this.srf, `silent for ${this.opts.replaceSilentAfterMs} ms`);
        return;
      case 'none':
        return;
    }
  }

  /**
   * A server drachtio-srf does not ping would never be found silent: ping it
   * ourselves, and say why. The alarm stays up until a connection is pinged by
   * drachtio-srf again: the cause (the server's version string) is the
   * operator's to fix.
   */
  private checkPingsRunning(): void {
    const interval = pingIntervalOf(this.opts);
    if (!pingsOverdue(this.connectedAt, this.pingSource !== 'none', this.clock.now(), interval)) return;
    const versions = startMissingPings(this.srf);
    if (versions.length === 0) return;
    this.pingSource = 'ours';
    this.log.error(
      { serverVersion: versions.join(', '), pingIntervalMs: interval, advice: 'build drachtio-server with its release version (scripts/install-drachtio-server.sh does)' },
      'drachtio-srf sends no pings to this drachtio-server (its version string does not read vX.Y.Z); pinging it ourselves',
    );
    this.delegate.onPingsStartedByUs(true);
  }

  private onPing(): void {
    if (this.pingSource !== 'none') return;
    this.pingSource = 'library';
    this.delegate.onPingsStartedByUs(false);
  }
}
