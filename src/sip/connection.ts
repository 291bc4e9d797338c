import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../core/clock';
import { ANSWERING, type LinkState, linkStep } from '../core/link-watchdog';
import { closeConnections, connectSrf, onConnectionEvent, unansweredPings, type ConnectOptions, type Srf } from './srf';

export interface ConnectionDelegate {
  onConnected(): void;
  onDisconnected(): void;
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
  private warned = false;
  private link: LinkState = ANSWERING;
  private watchdog: TimerHandle | null = null;

  constructor(
    private readonly srf: Srf,
    private readonly opts: ConnectOptions & { readonly replaceSilentAfterMs: number },
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
      this.warned = false;
      this.link = ANSWERING;
      this.log.info({ hostport }, 'connected to drachtio-server');
      this.markUp();
    });
    // drachtio-srf throws on an 'error' event nobody listens to. While down, every
    // retry fails the same way: only the first failure is worth a warning.
    this.srf.on('error', (err) => {
      if (this.up || !this.warned) this.log.warn({ err: err.message }, 'drachtio connection error; retrying');
      else this.log.debug({ err: err.message }, 'drachtio connection error');
      this.warned = true;
    });
    onConnectionEvent(this.srf, 'close', () => {
      this.link = ANSWERING;
      if (this.up) this.log.error('lost the connection to drachtio-server; reconnecting');
      this.markDown();
    });
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
}
