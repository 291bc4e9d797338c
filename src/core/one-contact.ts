import { type Epoch, type Heartbeat, type NodeId, nextEpoch, type Ownership } from './types';
import { heartbeatEvidence } from './verdict';
import type { OwnershipPlan } from './ownership';

/**
 * The licence allows one registered contact for the AOR. Ownership moves in the
 * store first; the contacts at the IPBX follow in an order that never puts two
 * there at once:
 * - the node that loses ownership unregisters before its heartbeat acknowledges
 *   the new epoch (the reconcile loop applies ownership, then beats);
 * - the node that gains it waits for that acknowledgement, or for the previous
 *   owner's heartbeat to go stale, before it clears the AOR and registers;
 * - a takeover the IPBX refuses is rolled back with a new epoch.
 */

/** One step towards holding the AOR's only contact. */
export type AcquireStep =
  | { readonly kind: 'await-release'; readonly epoch: Epoch }
  | { readonly kind: 'clear-all' }
  | { readonly kind: 'register' };

export type AcquireNext =
  | { readonly kind: 'step'; readonly step: AcquireStep }
  | { readonly kind: 'acquired' }
  | { readonly kind: 'refused'; readonly message: string };

export type StepOutcome = { readonly ok: boolean; readonly reason?: string };

/**
 * Where acquiring starts. `previous`: the ownership that made us owner, whose
 * epoch the previous owner must acknowledge; null when the previous owner is
 * dead (a takeover). Epoch 1 had no previous owner, and without a peer there
 * is nobody to wait for.
 */
export function firstAcquireStep(previous: Ownership | null, hasPeer: boolean): AcquireNext {
  if (previous !== null && previous.epoch > 1 && hasPeer) return { kind: 'step', step: { kind: 'await-release', epoch: previous.epoch } };
  return { kind: 'step', step: { kind: 'clear-all' } };
}

/** What follows `done` given how it went. Waiting always ends in clearing: a silent peer is cleared anyway. */
export function nextAcquireStep(done: AcquireStep, outcome: StepOutcome): AcquireNext {
  const why = outcome.reason ?? 'no reason';
  switch (done.kind) {
    case 'await-release':
      return { kind: 'step', step: { kind: 'clear-all' } };
    case 'clear-all':
      return outcome.ok ? { kind: 'step', step: { kind: 'register' } } : { kind: 'refused', message: `clear-all REGISTER refused: ${why}` };
    case 'register':
      return outcome.ok ? { kind: 'acquired' } : { kind: 'refused', message: `REGISTER refused: ${why}` };
  }
}

/**
 * Whether the previous owner has let go of epoch `awaited`: its heartbeat
 * acknowledges it, is gone, or is stale. `unreadable`: the store cannot tell,
 * and waiting on it would only delay a takeover the SIP path already decided.
 */
export function peerReleased(hb: Heartbeat | null | 'unreadable', awaited: Epoch, now: number, staleAfterMs: number): boolean {
  if (hb === 'unreadable' || hb === null) return true;
  return hb.epochSeen >= awaited || heartbeatEvidence(hb, now, staleAfterMs) === 'stale';
}

/** Hands ownership back after a refused takeover: a new epoch, so the change is never mistaken for the old one. */
export function rollbackMove(attempted: Ownership, previousOwner: NodeId): Extract<OwnershipPlan, { kind: 'change' }> {
  return { kind: 'change', expected: attempted.epoch, next: { owner: previousOwner, epoch: nextEpoch(attempted.epoch) } };
}
