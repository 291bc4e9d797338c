import { epoch, type Epoch, type Heartbeat, nextEpoch, type NodeId, type Ownership } from './types';
import { heartbeatEvidence } from './verdict';

/** A change of ownership to attempt with compare-and-set, or why there is nothing to do. */
export type OwnershipPlan =
  | { readonly kind: 'change'; readonly expected: Epoch | null; readonly next: Ownership }
  | { readonly kind: 'noop'; readonly reason: string };

/** The first ownership ever written: the configured primary owns, at epoch 1. */
export function initialOwnership(primary: NodeId): Ownership {
  return { owner: primary, epoch: epoch(1) };
}

/**
 * Moves ownership to `to`. Used by takeover (to = self), failback and switchover
 * (to = the other node) and rollback. Moving to the current owner is a no-op,
 * which makes failback and switchover idempotent.
 */
export function planMove(current: Ownership | null, to: NodeId): OwnershipPlan {
  if (current === null) return { kind: 'change', expected: null, next: { owner: to, epoch: epoch(1) } };
  if (current.owner === to) return { kind: 'noop', reason: `${to} already owns at epoch ${current.epoch}` };
  return { kind: 'change', expected: current.epoch, next: { owner: to, epoch: nextEpoch(current.epoch) } };
}

/**
 * Whether this node should hold a registration at the IPBX.
 * - `register`: it owns;
 * - `unregister`: another node owns;
 * - `hold`: ownership is unknown (store unreadable at start) — registering could
 *   put two nodes on the licence, so do nothing unless the operator overrode.
 */
export type RegistrationIntent = 'register' | 'unregister' | 'hold';

export function registrationIntent(
  self: NodeId,
  ownership: Ownership | 'unreadable',
  override: { readonly ignoreUnreadableOwnership: boolean; readonly isPrimary: boolean },
): RegistrationIntent {
  if (ownership === 'unreadable') return override.ignoreUnreadableOwnership && override.isPrimary ? 'register' : 'hold';
  return ownership.owner === self ? 'register' : 'unregister';
}

/** What to do with the ownership read from the store. */
export type StoredOwnershipAction =
  | { readonly kind: 'follow'; readonly ownership: Ownership }
  /** Compare-and-set `next` over `expected`: the first write (`init`) or a newer ownership the store lost (`restore`). */
  | { readonly kind: 'write'; readonly transition: 'init' | 'restore'; readonly expected: Epoch | null; readonly next: Ownership; readonly reason: string }
  /** Write nothing yet, and register nothing. */
  | { readonly kind: 'wait'; readonly reason: string };

export interface StoredOwnershipContext {
  /** What this node last knew; null before its first successful read. */
  readonly known: Ownership | null;
  /** The peer's heartbeat, when it was read; only a fresh one counts. */
  readonly peerHeartbeat: Heartbeat | null;
  readonly now: number;
  readonly staleAfterMs: number;
  readonly primary: NodeId;
  /**
   * Whether this node has run long enough for a live peer's heartbeat to be in
   * the store. Before then an empty store may only mean the store restarted
   * and the peer has not written since.
   */
  readonly peerHadTimeToBeat: boolean;
}

/**
 * The store can lose writes: a Redis restarted without its data, a Sentinel
 * failover to a replica that missed the last ones. Following it then would be
 * an automatic failback with the epoch going backwards. So the newest
 * ownership anyone knows wins: what this node knew, or what the peer's fresh
 * heartbeat says it follows. An older or missing one in the store is written
 * back; the configured primary claims epoch 1 only when nobody knows any,
 * and only once a live peer would have been heard from.
 */
export function reconcileStoredOwnership(stored: Ownership | null, ctx: StoredOwnershipContext): StoredOwnershipAction {
  const peer = ctx.peerHeartbeat;
  const fromPeer: Ownership | null =
    peer?.ownerSeen !== undefined && peer.epochSeen > 0 && heartbeatEvidence(peer, ctx.now, ctx.staleAfterMs).startsWith('fresh')
      ? { owner: peer.ownerSeen, epoch: peer.epochSeen }
      : null;
  const newest = [ctx.known, fromPeer].reduce<Ownership | null>((a, b) => (b !== null && (a === null || b.epoch > a.epoch) ? b : a), null);
  if (stored !== null && (newest === null || stored.epoch >= newest.epoch)) return { kind: 'follow', ownership: stored };
  if (newest !== null) {
    const source = newest === ctx.known ? 'this node knew' : "the peer's heartbeat follows";
    const what = stored === null ? 'the store holds no ownership' : `the store holds epoch ${stored.epoch}`;
    return {
      kind: 'write',
      transition: 'restore',
      expected: stored?.epoch ?? null,
      next: newest,
      reason: `${what}, ${source} ${newest.owner} at epoch ${newest.epoch}: the store lost writes`,
    };
  }
  if (!ctx.peerHadTimeToBeat) return { kind: 'wait', reason: 'the store holds no ownership: waiting to hear from the peer before the configured primary claims' };
  return { kind: 'write', transition: 'init', expected: null, next: initialOwnership(ctx.primary), reason: 'first start' };
}
