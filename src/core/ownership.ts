import { epoch, type Epoch, nextEpoch, type NodeId, type Ownership } from './types';

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
