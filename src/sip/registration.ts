import type { Logger } from 'pino';
import { type Clock, type TimerHandle, withTimeout } from '../core/clock';
import { FaultLog } from '../fault-log';
import {
  bindingExpiresAt,
  foreignBindings,
  interpretRegisterResponse,
  parseBindings,
  refreshDelayMs,
  retryDelayMs,
  sameContact,
} from '../core/registration-timing';
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
  /** The other contacts the IPBX listed when we stepped down; null once this node registers or unregisters again. */
  onConflict(others: readonly string[] | null): void;
}

/**
 * Asked before every REGISTER the registration times itself (refresh, retry,
 * re-register after a reconnect): whether this node still owns. A process
 * frozen past its timers (SIGSTOP, a paused VM) wakes with them overdue while
 * the peer may have taken over; only a fresh look at ownership tells.
 */
export type OwnershipCheck = () => Promise<boolean>;

/** One REGISTER sent: its result, when it left, and the other contacts its 2xx listed. */
interface Sent {
  readonly result: RegisterResult;
  readonly sentAt: number;
  readonly others: readonly string[];
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
  /** Fires when our binding lapses at the IPBX unless a 2xx renewed it first. */
  private lapse: TimerHandle | null = null;
  /** Bumped by every start of a cycle, so a timer whose ownership check is still pending knows it was overtaken. */
  private generation = 0;
  private conflict: readonly string[] | null = null;
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
    private readonly stillOwner: OwnershipCheck,
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

  /**
   * Whether this node stepped down because the IPBX listed another contact for
   * the AOR: only an explicit `keep()` (a takeover, an operator's handover)
   * registers again, so the reconcile loop never fights that contact.
   */
  get steppedDown(): boolean {
    return this.conflict !== null;
  }

  /** Registers now and keeps the binding refreshed until `release()`. Resolves with the first result. */
  async keep(): Promise<RegisterResult> {
    this.wanted = true;
    this.cancelTimer();
    this.setConflict(null);
    this.generation += 1;
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
    this.setConflict(null);
    const { result } = await this.send('unregister', this.opts.contact, 0);
    if (result.ok) this.dropBinding();
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
    if (!this.wanted) return;
    this.cancelTimer();
    void this.timed('register');
  }

  private async cycle(kind: 'register' | 'refresh'): Promise<RegisterResult> {
    const sent = await this.send(kind, this.opts.contact, this.expires);
    const result = sent.result;
    if (!this.wanted) return result;
    if (result.ok && sent.others.length > 0) return this.stepDown(sent.others);
    if (result.ok) {
      this.failures = 0;
      this.holdUntil(bindingExpiresAt(sent.sentAt, result.grantedSec));
      this.schedule(refreshDelayMs(result.grantedSec));
    } else {
      // A binding we still hold stays valid until it lapses even if a refresh failed.
      this.failures += 1;
      this.schedule(retryDelayMs(this.failures));
    }
    return result;
  }

  private schedule(ms: number): void {
    this.cancelTimer();
    this.timer = this.clock.setTimer(ms, () => {
      this.timer = null;
      void this.timed(this.isRegistered ? 'refresh' : 'register');
    });
  }

  /** A REGISTER of our own timing: only once ownership, read afresh, says this node still owns. */
  private async timed(kind: 'register' | 'refresh'): Promise<void> {
    const generation = ++this.generation;
    if (!this.wanted) return;
    const owner = await this.stillOwner();
    if (!this.wanted || generation !== this.generation) return;
    if (!owner) {
      this.log.warn({ kind }, 'no longer the owner: not sending the REGISTER that was due');
      this.release();
      return;
    }
    await this.cycle(kind);
  }

  /** Our binding is valid until `expiresAt`; past it without a 2xx, it is gone. */
  private holdUntil(expiresAt: number): void {
    if (this.lapse) this.clock.clearTimer(this.lapse);
    this.setRegistered(true);
    this.lapse = this.clock.setTimer(expiresAt - this.clock.now(), () => {
      this.lapse = null;
      this.log.error('our binding at the IPBX has lapsed: no REGISTER was accepted within its lifetime');
      this.dropBinding();
    });
  }

  private dropBinding(): void {
    if (this.lapse) this.clock.clearTimer(this.lapse);
    this.lapse = null;
    this.setRegistered(false);
  }

  /**
   * The IPBX lists another contact beside ours: someone else holds the AOR.
   * Clearing it could fight a node that believes it owns, REGISTER against
   * REGISTER; so ours is removed, the other left alone, and an operator decides.
   */
  private async stepDown(others: readonly string[]): Promise<RegisterResult> {
    const reason = `another contact holds the AOR: ${others.join(', ')}`;
    this.log.error({ others }, `${reason}; stepping down: removing our binding, leaving theirs, not registering again until an operator moves ownership`);
    const un = await this.unregister();
    if (!un.ok) this.log.error({ reason: un.reason }, 'could not remove our binding after stepping down: it lapses on its own');
    this.setConflict(others);
    return { ok: false, reason };
  }

  private setConflict(others: readonly string[] | null): void {
    if (others === null && this.conflict === null) return;
    this.conflict = others;
    this.delegate.onConflict(others);
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

  private send(kind: RegisterKind, contact: string, expires: number): Promise<Sent> {
    const p = this.sendWithIntervalRetry(kind, contact, expires);
    this.inflight = p.catch(() => undefined);
    return p;
  }

  private async sendWithIntervalRetry(kind: RegisterKind, contact: string, expires: number): Promise<Sent> {
    let requested = expires;
    for (let i = 0; ; i++) {
      const sentAt = this.clock.now();
      const res = await this.request({ Contact: `<${contact}>`, Expires: String(requested) });
      const sent = (result: RegisterResult, others: readonly string[] = []): Sent => ({ result: this.report(kind, result), sentAt, others });
      if ('error' in res) return sent({ ok: false, reason: res.error });
      const outcome = interpretRegisterResponse(res, { contact, expires: requested });
      if (outcome.kind === 'registered') return sent({ ok: true, grantedSec: outcome.grantedSec }, foreignBindings(res.contact, contact));
      if (outcome.kind === 'retry-with-expires' && i < MAX_INTERVAL_RETRIES && expires > 0) {
        this.log.info({ minExpires: outcome.expires }, 'registrar asked for a longer interval (423); retrying');
        this.expires = outcome.expires;
        requested = outcome.expires;
        continue;
      }
      const status = outcome.kind === 'refused' ? outcome.status : 423;
      const reason = outcome.kind === 'refused' ? outcome.reason : 'Interval Too Brief';
      return sent({ ok: false, status, reason: `${status} ${reason}` });
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

