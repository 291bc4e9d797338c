import type { Logger } from 'pino';
import type { Clock } from './core/clock';
import { type OverflowPolicy, ruleOnOverflow } from './core/overflow';
import type { Epoch, Heartbeat, NodeId, Ownership, Verdict } from './core/types';
import type { Verifier } from './core/verification';
import type { ChangeResult } from './failover';
import type { OverflowDecision, OverflowPort } from './sip/request-router';
import { type StateStore, type StoreErrorDelegate, storeFailed } from './state/store';

/** What this file needs of the ownership logic (failover.ts): who owns, and the one way in, taking over. */
export interface OwnershipPort {
  readonly ownership: Ownership | null;
  isOwner(): boolean;
  takeOver(evidence: Verdict): Promise<ChangeResult>;
}

/** The peer whose liveness an overflow call questions. */
export interface PeerCheck {
  readonly id: NodeId;
  readonly uri: string;
  readonly verifier: Pick<Verifier, 'verify' | 'invalidate' | 'pending'>;
}

export interface OverflowDelegate extends StoreErrorDelegate {
  onVerdict(verdict: Verdict): void;
  onBackupAlarm(): void;
}

/**
 * An INVITE reached a node that does not own the registration: the IPBX could
 * not place it with the owner. Verify the owner, gather the heartbeat as
 * evidence, rule (core/overflow.ts), then dissuade, take over or raise the
 * alarm, as the mode says.
 */
export class OverflowHandler implements OverflowPort {
  private lastVerdict: Verdict | null = null;
  private epochSeen: Epoch | null = null;

  constructor(
    /** null in single-node mode: there is no peer to verify. */
    private readonly peer: PeerCheck | null,
    private readonly failover: OwnershipPort,
    private readonly store: Pick<StateStore, 'readHeartbeat'>,
    private readonly policy: Omit<OverflowPolicy, 'ownerUri'>,
    private readonly clock: Clock,
    private readonly delegate: OverflowDelegate,
  ) {}

  /** The last verdict on the owner, for the status. */
  get verdict(): Verdict | null {
    return this.lastVerdict;
  }

  /** Calls waiting on a verification: a measure of load. */
  get pending(): number {
    return this.peer?.verifier.pending ?? 0;
  }

  async handle(signal: AbortSignal, log: Logger): Promise<OverflowDecision> {
    if (!this.peer) {
      // Single-node mode always owns; reaching here means the state was tampered with.
      log.error('INVITE while not owner and no peer to verify: refused with 503');
      return { kind: 'refuse', response: { status: 503, headers: {} } };
    }
    this.forgetVerdictOnPreviousOwner(this.peer);
    const result = await this.peer.verifier.verify(signal);
    if (result.kind === 'cancelled') {
      log.info('caller cancelled during verification; work for this call stopped');
      return { kind: 'cancelled' };
    }
    // Another call's takeover may have completed while this one waited on the same cycle.
    if (this.failover.isOwner()) return { kind: 'bridge', tookOver: false };
    const heartbeat = result.verdict.alive ? 'unreadable' : await this.readOwnerHeartbeat(this.peer, log);
    const { verdict, action, refusal } = ruleOnOverflow(result.verdict, heartbeat, this.clock.now(), {
      ...this.policy,
      ownerUri: this.peer.uri,
    });
    this.lastVerdict = verdict;
    log.info(
      {
        verdict: verdict.kind,
        heartbeat: verdict.heartbeat,
        // A dissuasion on an answer already in hand is the routine line at overflow rates: it leaves
        // out the probes, which are an earlier call's (logged with it) or the owner watch's.
        probes: result.cached && action.kind === 'dissuade' ? undefined : verdict.sip.probes,
        joined: result.joined,
        cached: result.cached,
        evidence: result.evidence === true,
        action: action.kind,
      },
      `overflow decision: owner ${verdict.kind}, ${action.kind}`,
    );
    // Count cycles, not calls: the calls that joined one share its verdict.
    if (!result.cached && !result.joined) this.delegate.onVerdict(verdict);
    if (signal.aborted) return { kind: 'cancelled' };
    switch (action.kind) {
      case 'dissuade':
        return { kind: 'refuse', response: refusal };
      case 'alarm':
        this.delegate.onBackupAlarm();
        log.error({ probes: verdict.sip.probes }, 'primary down, switchover needed');
        return { kind: 'refuse', response: refusal };
      case 'takeover': {
        const r = await this.failover.takeOver(verdict);
        if (r.ok) return { kind: 'bridge', tookOver: r.changed };
        log.error({ reason: r.message }, 'takeover failed; call dissuaded, node stays passive');
        return { kind: 'refuse', response: refusal };
      }
    }
  }

  /**
   * A cached "alive" was about the owner of its epoch; a new epoch needs a new
   * look. Learning the first epoch is no change of owner: before it the peer
   * probed was the configured one, the same node.
   */
  private forgetVerdictOnPreviousOwner(peer: PeerCheck): void {
    const current = this.failover.ownership?.epoch ?? null;
    if (current !== this.epochSeen && this.epochSeen !== null) peer.verifier.invalidate();
    this.epochSeen = current;
  }

  private async readOwnerHeartbeat(peer: PeerCheck, log: Logger): Promise<Heartbeat | null | 'unreadable'> {
    const owner = this.failover.ownership?.owner ?? peer.id;
    try {
      return await this.store.readHeartbeat(owner);
    } catch (err) {
      storeFailed(this.delegate, log, 'readHeartbeat', err);
      return 'unreadable';
    }
  }
}
