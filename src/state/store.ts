import type { Logger } from 'pino';
import type { Epoch, Heartbeat, NodeId, Ownership, TransitionEvent } from '../core/types';

export type CasOutcome =
  | { readonly ok: true; readonly ownership: Ownership }
  | { readonly ok: false; readonly current: Ownership | null };

/**
 * Where the two nodes share ownership, heartbeats and the history of transitions.
 * Every method rejects quickly (never hangs) when the backing store is unreachable,
 * so that call handling can fall back to the SIP path alone.
 */
export interface StateStore {
  readonly kind: 'memory' | 'redis';
  /** The stored ownership, or null when none was ever written. */
  readOwnership(): Promise<Ownership | null>;
  /**
   * Writes `next` only when the stored epoch equals `expected` (null: nothing stored yet).
   * Atomic: of two nodes racing on the same expected epoch exactly one gets `ok: true`.
   */
  compareAndSetOwnership(expected: Epoch | null, next: Ownership): Promise<CasOutcome>;
  writeHeartbeat(hb: Heartbeat, ttlMs: number): Promise<void>;
  /** The node's last heartbeat, or null when absent or expired. */
  readHeartbeat(node: NodeId): Promise<Heartbeat | null>;
  appendEvent(event: TransitionEvent): Promise<void>;
  /** The newest `count` transition events, oldest first. */
  recentEvents(count: number): Promise<TransitionEvent[]>;
  /**
   * Resolves once the store can be used, or when its connection attempt timed out: whether it can.
   * The first ownership read waits for it, so a start does not fail (and raise
   * the ownership alarm) only because the connection was still being made.
   */
  ready(): Promise<boolean>;
  /** True while the last operation reached the store (always true in memory). */
  isReachable(): boolean;
  close(): Promise<void>;
}

export interface StoreErrorDelegate {
  onStoreError(op: string): void;
}

/**
 * A failed store operation is counted the same way wherever it happens; the caller then falls back.
 * The store logs the fault itself, once as it starts and ends (fault-log.ts), so each failure is debug here.
 */
export function storeFailed(delegate: StoreErrorDelegate, log: Logger, op: string, err: unknown): void {
  delegate.onStoreError(op);
  log.debug({ op, err: err instanceof Error ? err.message : String(err) }, 'state store operation failed');
}
