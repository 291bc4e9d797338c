import type { Logger } from 'pino';
import { type Clock, sleep, type TimerHandle } from './core/clock';
import { type AcquireNext, type AcquireStep, firstAcquireStep, nextAcquireStep, peerReleased, rollbackMove, type StepOutcome } from './core/one-contact';
import { planMove, reconcileStoredOwnership, registrationIntent } from './core/ownership';
import { type Epoch, type NodeId, type Ownership, type TransitionKind, type Verdict } from './core/types';
import { serialized } from './serialized';
import { type StateStore, type StoreErrorDelegate, storeFailed } from './state/store';

/** What the ownership logic needs of the SIP registration (sip/registration.ts). */
export interface RegistrationPort {
  readonly maintained: boolean;
  /** Stepped down on finding another contact at the IPBX: the reconcile loop leaves it so; only a transition registers again. */
  readonly steppedDown: boolean;
  keep(): Promise<{ ok: boolean; reason?: string }>;
  release(): void;
  unregister(): Promise<{ ok: boolean; reason?: string }>;
  clearAll(): Promise<{ ok: boolean; reason?: string }>;
}

/** Hooks for metrics and alarms, so this file stays free of prom-client. */
export interface FailoverDelegate extends StoreErrorDelegate {
  onOwnership(ownership: Ownership, isOwner: boolean): void;
  onTransition(kind: TransitionKind, ok: boolean): void;
  onAlarm(name: 'ownership_unreadable' | 'takeover_refused', raised: boolean): void;
}

/** What the transitions need of the heartbeat (heartbeat.ts): acknowledging the ownership this node has acted on. */
export interface HeartbeatPort {
  beat(seen: Ownership | null): Promise<void>;
}

export interface FailoverOptions {
  readonly self: NodeId;
  /** null in single-node mode. */
  readonly peer: NodeId | null;
  readonly primary: NodeId;
  readonly heartbeatIntervalMs: number;
  readonly staleAfterMs: number;
  readonly ignoreUnreadableOwnership: boolean;
}

export type ChangeResult =
  | { readonly ok: true; readonly changed: boolean; readonly ownership: Ownership; readonly message: string }
  | { readonly ok: false; readonly message: string };

/**
 * Who owns the registration, and acting on it: the transitions (takeover,
 * failback, switchover, rollback) and the reconcile loop that makes the
 * registration match the store. A node acts only on what it won in the store
 * (compare-and-set on the epoch); a node that loses follows. The order of the
 * steps at the IPBX is core/one-contact.ts.
 */
export class Failover {
  private known: Ownership | null = null;
  /** One ownership change at a time: a takeover, a handover and a periodic check never interleave. */
  private readonly exclusive = serialized();
  private timer: TimerHandle | null = null;
  /** Between start() and stop(): before start() the store may not be connected yet. */
  private running = false;
  private startedAt = 0;
  /** Whether the last check held the registration because ownership could not be read: logged as it starts and ends only. */
  private holding = false;

  constructor(
    private readonly opts: FailoverOptions,
    private readonly store: StateStore,
    private readonly registration: RegistrationPort,
    private readonly heartbeat: HeartbeatPort,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly delegate: FailoverDelegate,
  ) {}

  get ownership(): Ownership | null {
    return this.known;
  }

  isOwner(): boolean {
    return this.known?.owner === this.opts.self;
  }

  start(): void {
    this.running = true;
    this.startedAt = this.clock.now();
    void this.tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  /**
   * Re-applies ownership now (after a reconnect to drachtio-server). Never rejects.
   * Does nothing before start(): start() applies ownership itself once the store
   * is connected, and reading it earlier would only report it unreadable.
   */
  resync(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return this.exclusive.run(() => this.apply()).catch((err: unknown) => this.log.error({ err: String(err) }, 'ownership check failed'));
  }

  /**
   * Whether this node owns, after acting on ownership read afresh: the
   * registration asks before each REGISTER it times itself. Never rejects.
   */
  async stillOwner(): Promise<boolean> {
    await this.resync();
    return this.isOwner();
  }

  /** Takes ownership from a dead owner, clears its binding and registers ours. */
  takeOver(evidence: Verdict): Promise<ChangeResult> {
    return this.exclusive.run(async () => {
      const current = await this.readOrKnown();
      const plan = planMove(current, this.opts.self);
      if (plan.kind === 'noop') return this.ensureRegistered(plan.reason);
      const won = await this.commit(plan.expected, plan.next, 'takeover', 'owner found dead', evidence, true);
      if (!won.ok) return won;
      const acquired = await this.acquire(null);
      if (acquired.kind === 'acquired') {
        this.delegate.onAlarm('takeover_refused', false);
        return won;
      }
      this.registration.release();
      this.delegate.onAlarm('takeover_refused', true);
      const back = rollbackMove(plan.next, current?.owner ?? this.opts.peer ?? this.opts.primary);
      await this.commit(back.expected, back.next, 'rollback', acquired.message, evidence, true);
      return { ok: false, message: `the IPBX refused the takeover: ${acquired.message}` };
    });
  }

  /**
   * Moves ownership to `to` on an operator's request. Idempotent: asking for the
   * current owner changes nothing and says so.
   */
  handover(kind: 'failback' | 'switchover', by: string): Promise<ChangeResult> {
    return this.exclusive.run(async () => {
      let current: Ownership | null;
      try {
        current = await this.store.readOwnership();
      } catch (err) {
        this.storeFailed('readOwnership', err);
        return { ok: false, message: 'the state store is unreachable: ownership cannot be changed safely now' };
      }
      const to = kind === 'failback' ? this.opts.primary : current?.owner === this.opts.self ? this.opts.peer : this.opts.self;
      if (to === null) return { ok: false, message: 'single-node mode: there is no peer to switch over to' };
      const plan = planMove(current, to);
      if (plan.kind === 'noop') return { ok: true, changed: false, ownership: current as Ownership, message: plan.reason };
      if (current?.owner === this.opts.self) {
        const un = await this.registration.unregister();
        if (!un.ok) this.log.warn({ reason: un.reason }, 'could not remove our binding; the new owner clears it');
      }
      const result = await this.commit(plan.expected, plan.next, kind, `requested by ${by}`, undefined, false);
      if (result.ok) {
        // Acknowledge the new epoch now rather than at the next tick: the new owner waits for it.
        await this.acknowledge();
        await this.apply();
      }
      return result;
    });
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    // Apply before beating: a node that lost ownership unregisters before it acknowledges the epoch.
    await this.resync();
    await this.acknowledge();
    if (this.running) this.timer = this.clock.setTimer(this.opts.heartbeatIntervalMs, () => void this.tick());
  }

  /** Makes the registration match the stored ownership. */
  private async apply(): Promise<void> {
    const read = await this.readOwnership();
    if (read === 'waiting') return;
    if (read === 'unreadable' && this.known) return; // keep doing what we did; the store will be back
    const intent = registrationIntent(this.opts.self, read === 'unreadable' ? 'unreadable' : read, {
      ignoreUnreadableOwnership: this.opts.ignoreUnreadableOwnership,
      isPrimary: this.opts.self === this.opts.primary,
    });
    this.delegate.onAlarm('ownership_unreadable', intent === 'hold');
    if (intent === 'hold') {
      if (!this.holding) this.log.error('ownership cannot be read from the state store: not registering (set startup.ignoreUnreadableOwnership to override)');
      this.holding = true;
      return;
    }
    if (this.holding) this.log.info({ owner: this.known?.owner, epoch: this.known?.epoch }, 'ownership readable again');
    this.holding = false;
    if (intent === 'register' && !this.registration.maintained && !this.registration.steppedDown) {
      const from = read === 'unreadable' ? null : read;
      this.log.info({ epoch: from?.epoch }, 'this node owns the registration: registering');
      const r = await this.acquire(from);
      if (r.kind === 'refused') this.log.error({ reason: r.message }, 'registration as owner failed; retrying');
    } else if (intent === 'unregister' && this.registration.maintained) {
      this.log.warn({ owner: this.known?.owner, epoch: this.known?.epoch }, 'ownership moved to the peer: unregistering');
      await this.registration.unregister();
    }
  }

  /**
   * Registers as owner. `from`: the ownership just read, whose epoch the previous
   * owner must acknowledge before we clear the AOR (null: the previous owner is dead).
   */
  private async acquire(from: Ownership | null): Promise<Exclude<AcquireNext, { kind: 'step' }>> {
    let next = firstAcquireStep(from, this.opts.peer !== null);
    while (next.kind === 'step') next = nextAcquireStep(next.step, await this.perform(next.step));
    return next;
  }

  private async perform(step: AcquireStep): Promise<StepOutcome> {
    switch (step.kind) {
      case 'await-release':
        await this.awaitPeerRelease(step.epoch);
        return { ok: true };
      case 'clear-all':
        return this.registration.clearAll();
      case 'register':
        return this.registration.keep();
    }
  }

  private async awaitPeerRelease(e: Epoch): Promise<void> {
    const peer = this.opts.peer;
    if (peer === null) return;
    const deadline = this.clock.now() + this.opts.staleAfterMs + 2 * this.opts.heartbeatIntervalMs;
    while (this.clock.now() < deadline && this.running) {
      try {
        if (peerReleased(await this.store.readHeartbeat(peer), e, this.clock.now(), this.opts.staleAfterMs)) return;
      } catch (err) {
        this.storeFailed('readHeartbeat', err);
        return;
      }
      await sleep(this.clock, Math.min(200, this.opts.heartbeatIntervalMs));
    }
    this.log.warn('the previous owner did not acknowledge the handover in time; clearing its binding anyway');
  }

  private async ensureRegistered(reason: string): Promise<ChangeResult> {
    const own = this.known as Ownership;
    if (!this.registration.maintained) await this.registration.keep();
    return { ok: true, changed: false, ownership: own, message: reason };
  }

  /**
   * Compare-and-set. With `allowUnreachable` (takeover, rollback) a dead store does
   * not block: the SIP path alone decided, and the change is applied locally.
   */
  private async commit(
    expected: Epoch | null,
    next: Ownership,
    kind: TransitionKind,
    reason: string,
    evidence: unknown,
    allowUnreachable: boolean,
  ): Promise<ChangeResult> {
    try {
      const cas = await this.store.compareAndSetOwnership(expected, next);
      if (!cas.ok) {
        if (cas.current) this.setKnown(cas.current);
        this.delegate.onTransition(kind, false);
        return { ok: false, message: `ownership changed meanwhile (now ${cas.current?.owner ?? 'none'} at epoch ${cas.current?.epoch ?? 0})` };
      }
    } catch (err) {
      this.storeFailed('compareAndSetOwnership', err);
      if (!allowUnreachable) return { ok: false, message: 'the state store is unreachable' };
      this.log.warn({ kind }, 'state store unreachable: ownership changed locally only');
    }
    const event = { kind, from: this.known?.owner ?? null, to: next.owner, epoch: next.epoch, by: this.opts.self, at: this.clock.now(), reason, evidence };
    this.setKnown(next);
    this.delegate.onTransition(kind, true);
    this.log.warn({ transition: kind, owner: next.owner, epoch: next.epoch, reason, evidence }, `ownership ${kind}`);
    await this.store.appendEvent(event).catch((err: unknown) => this.storeFailed('appendEvent', err));
    return { ok: true, changed: true, ownership: next, message: `${next.owner} owns at epoch ${next.epoch}` };
  }

  /**
   * The stored ownership, reconciled with what this node and its peer know
   * (core/ownership.ts: the newest wins, a store that lost it gets it back).
   * `waiting`: the store is empty and the peer may not have written yet.
   */
  private async readOwnership(): Promise<Ownership | 'unreadable' | 'waiting'> {
    try {
      const stored = await this.store.readOwnership();
      const now = this.clock.now();
      // The peer's view matters when the store is empty, or before this node knows anything itself.
      const peer = this.opts.peer;
      const peerHeartbeat = peer !== null && (stored === null || this.known === null) ? await this.store.readHeartbeat(peer) : null;
      const action = reconcileStoredOwnership(stored, {
        known: this.known,
        peerHeartbeat,
        now,
        staleAfterMs: this.opts.staleAfterMs,
        primary: this.opts.primary,
        peerHadTimeToBeat: peer === null || now - this.startedAt >= 2 * this.opts.heartbeatIntervalMs,
      });
      switch (action.kind) {
        case 'follow':
          this.setKnown(action.ownership);
          return action.ownership;
        case 'wait':
          this.log.info(action.reason);
          return 'waiting';
        case 'write':
          return await this.writeStored(stored, action);
      }
    } catch (err) {
      this.storeFailed('readOwnership', err);
      return 'unreadable';
    }
  }

  /** The first ownership, or one the store lost, written back. Both nodes may race here; one write wins and both follow it. */
  private async writeStored(
    stored: Ownership | null,
    action: Extract<ReturnType<typeof reconcileStoredOwnership>, { kind: 'write' }>,
  ): Promise<Ownership | 'waiting'> {
    const cas = await this.store.compareAndSetOwnership(action.expected, action.next);
    if (!cas.ok) {
      if (cas.current === null) return 'waiting';
      this.setKnown(cas.current);
      return cas.current;
    }
    const own = cas.ownership;
    if (action.transition === 'restore') this.log.warn({ owner: own.owner, epoch: own.epoch, stored }, `ownership restored: ${action.reason}`);
    this.setKnown(own);
    await this.store.appendEvent({ kind: action.transition, from: stored?.owner ?? null, to: own.owner, epoch: own.epoch, by: this.opts.self, at: this.clock.now(), reason: action.reason });
    return own;
  }

  private async readOrKnown(): Promise<Ownership | null> {
    const read = await this.readOwnership();
    return typeof read === 'string' ? this.known : read;
  }

  private setKnown(own: Ownership): void {
    this.known = own;
    this.delegate.onOwnership(own, own.owner === this.opts.self);
  }

  private acknowledge(): Promise<void> {
    return this.heartbeat.beat(this.known);
  }

  private storeFailed(op: string, err: unknown): void {
    storeFailed(this.delegate, this.log, op, err);
  }
}
