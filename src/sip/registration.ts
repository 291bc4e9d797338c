import type { Logger } from 'pino';
import { type Clock, type TimerHandle, withTimeout } from '../core/clock';
import { FaultLog } from '../fault-log';
import { interpretRegisterResponse, parseBindings, refreshDelayMs, retryDelayMs, sameContact } from '../core/registration-timing';
import { sendRequest, type Srf } from './srf';

export interface RegistrationOptions {
  readonly registrar: string;
  readonly aor: string;
  readonly contact: string;
  readonly username: string;
  readonly password: string;
  readonly expires: number;
  /** How long to wait for a final response to one REGISTER (Timer F is 32 s). */
  readonly timeoutMs: number;
}

export type RegisterKind = 'register' | 'refresh' | 'clear-all' | 'unregister';

export type RegisterResult =
  | { readonly ok: true; readonly grantedSec: number }
  | { readonly ok: false; readonly status?: number; readonly reason: string };

export interface RegistrationDelegate {
  onResult(kind: RegisterKind, result: RegisterResult): void;
  onRegisteredChange(registered: boolean): void;
}

/** A 423 may raise the interval once per REGISTER; a registrar that keeps asking is refused. */
const MAX_INTERVAL_RETRIES = 2;

/**
 * This node's binding at the IPBX: REGISTER with digest auth, refresh before the
 * granted expiry, retry with back-off, honour 423 Min-Expires, and clear or
 * remove bindings on takeover and handover.
 */
export class Registration {
  private wanted = false;
  private isRegistered = false;
  private timer: TimerHandle | null = null;
  private failures = 0;
  private expires: number;
  private inflight: Promise<unknown> = Promise.resolve();
  /** Registering or refreshing failing: every retry fails alike, so it is logged as a lasting fault. */
  private readonly failing: FaultLog;

  constructor(
    private readonly srf: Srf,
    private readonly opts: RegistrationOptions,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly delegate: RegistrationDelegate,
  ) {
    this.expires = opts.expires;
    this.failing = new FaultLog(log, clock, 'registration at the IPBX works again');
  }

  get registered(): boolean {
    return this.isRegistered;
  }

  get maintained(): boolean {
    return this.wanted;
  }

  /** Registers now and keeps the binding refreshed until `release()`. Resolves with the first result. */
  async keep(): Promise<RegisterResult> {
    this.wanted = true;
    this.cancelTimer();
    return this.cycle('register');
  }

  /** Stops refreshing without touching the IPBX (the binding lapses on its own). */
  release(): void {
    this.wanted = false;
    this.cancelTimer();
  }

  /** Stops refreshing and removes our own binding. */
  async unregister(): Promise<RegisterResult> {
    this.release();
    // A refresh still in flight would re-create the binding after we removed it.
    await this.inflight;
    const result = await this.send('unregister', this.opts.contact, 0);
    if (result.ok) this.setRegistered(false);
    return result;
  }

  /**
   * Removes every binding of the AOR but ours: the dead owner's. RFC 3261 offers
   * `Contact: *` for this, but drachtio-server crashes when asked to send it, so
   * the bindings are read with a query REGISTER (no Contact, §10.2.3) and the
   * foreign ones removed with `expires=0` in a single REGISTER.
   */
  async clearAll(): Promise<RegisterResult> {
    const query = await this.request({});
    if ('error' in query) return this.report('clear-all', { ok: false, reason: query.error });
    if (query.status >= 300) return this.report('clear-all', { ok: false, status: query.status, reason: `${query.status} ${query.reason}` });
    const others = parseBindings(query.contact).filter((b) => !sameContact(b.uri, this.opts.contact));
    this.log.info({ bindings: others.map((b) => b.uri) }, `registrar holds ${others.length} other binding(s) for the AOR`);
    if (others.length === 0) return this.report('clear-all', { ok: true, grantedSec: 0 });
    const removal = await this.request({ Contact: others.map((b) => `<${b.uri}>;expires=0`).join(', '), Expires: '0' });
    if ('error' in removal) return this.report('clear-all', { ok: false, reason: removal.error });
    if (removal.status >= 300) {
      return this.report('clear-all', { ok: false, status: removal.status, reason: `${removal.status} ${removal.reason}` });
    }
    return this.report('clear-all', { ok: true, grantedSec: 0 });
  }

  /** After a reconnect to drachtio-server: register again at once if we hold the binding. */
  reassert(): void {
    if (this.wanted) void this.keep();
  }

  private async cycle(kind: 'register' | 'refresh'): Promise<RegisterResult> {
    const result = await this.send(kind, this.opts.contact, this.expires);
    if (!this.wanted) return result;
    if (result.ok) {
      this.failures = 0;
      this.setRegistered(true);
      this.schedule(refreshDelayMs(result.grantedSec));
    } else {
      this.failures += 1;
      // A binding we still hold stays valid until its expiry even if a refresh failed.
      if (kind === 'register') this.setRegistered(false);
      this.schedule(retryDelayMs(this.failures));
    }
    return result;
  }

  private schedule(ms: number): void {
    this.cancelTimer();
    this.timer = this.clock.setTimer(ms, () => {
      this.timer = null;
      if (this.wanted) void this.cycle(this.isRegistered ? 'refresh' : 'register');
    });
  }

  private cancelTimer(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private setRegistered(v: boolean): void {
    if (v === this.isRegistered) return;
    this.isRegistered = v;
    this.delegate.onRegisteredChange(v);
  }

  private send(kind: RegisterKind, contact: string, expires: number): Promise<RegisterResult> {
    const p = this.sendWithIntervalRetry(kind, contact, expires);
    this.inflight = p.catch(() => undefined);
    return p;
  }

  private async sendWithIntervalRetry(kind: RegisterKind, contact: string, expires: number): Promise<RegisterResult> {
    let requested = expires;
    for (let i = 0; ; i++) {
      const res = await this.request({ Contact: `<${contact}>`, Expires: String(requested) });
      if ('error' in res) return this.report(kind, { ok: false, reason: res.error });
      const outcome = interpretRegisterResponse(res, { contact, expires: requested });
      if (outcome.kind === 'registered') return this.report(kind, { ok: true, grantedSec: outcome.grantedSec });
      if (outcome.kind === 'retry-with-expires' && i < MAX_INTERVAL_RETRIES && expires > 0) {
        this.log.info({ minExpires: outcome.expires }, 'registrar asked for a longer interval (423); retrying');
        this.expires = outcome.expires;
        requested = outcome.expires;
        continue;
      }
      const status = outcome.kind === 'refused' ? outcome.status : 423;
      const reason = outcome.kind === 'refused' ? outcome.reason : 'Interval Too Brief';
      return this.report(kind, { ok: false, status, reason: `${status} ${reason}` });
    }
  }

  private report(kind: RegisterKind, result: RegisterResult): RegisterResult {
    const keeping = kind === 'register' || kind === 'refresh';
    if (result.ok) {
      this.log.info({ kind, grantedSec: result.grantedSec }, 'REGISTER accepted');
      if (keeping) this.failing.recovered();
    } else {
      // Only a status line is the IPBX's word; a timeout or a send failure is ours to explain.
      const message = result.status !== undefined ? `REGISTER refused by the IPBX: ${result.reason}` : `REGISTER failed: ${result.reason}`;
      const fields = { kind, status: result.status, reason: result.reason };
      if (keeping) this.failing.failed(message, fields);
      else this.log.error(fields, message);
    }
    this.delegate.onResult(kind, result);
    return result;
  }

  /** One REGISTER transaction (digest challenge answered by drachtio-srf), bounded by our own timeout. */
  private async request(
    headers: { Contact?: string; Expires?: string },
  ): Promise<{ status: number; reason: string; contact?: string; expires?: string; minExpires?: string } | { error: string }> {
    try {
      const res = await withTimeout(
        this.clock,
        sendRequest(this.srf, this.opts.registrar, {
          method: 'REGISTER',
          headers: { From: `<${this.opts.aor}>`, To: `<${this.opts.aor}>`, ...headers },
          auth: { username: this.opts.username, password: this.opts.password },
        }),
        this.opts.timeoutMs,
        () => null,
      );
      if (res === null) return { error: `no final response within ${this.opts.timeoutMs} ms` };
      return {
        status: res.status,
        reason: res.reason,
        contact: res.header('Contact'),
        expires: res.header('Expires'),
        minExpires: res.header('Min-Expires'),
      };
    } catch (err) {
      return { error: `could not send REGISTER: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}

