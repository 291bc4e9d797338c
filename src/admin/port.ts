import type { TransitionEvent } from '../core/types';
import type { ChangeResult } from '../failover';
import type { Status } from './status';

export interface Readiness {
  readonly ready: boolean;
  readonly drachtio: boolean;
  readonly store: boolean;
}

/** What the admin API needs of a running agent; the agent implements it. */
export interface AdminPort {
  status(): Status;
  readiness(): Readiness;
  handover(kind: 'failback' | 'switchover', by: string): Promise<ChangeResult>;
  /** The newest `count` transitions from the store, oldest first; rejects when the store is unreachable. */
  events(count: number): Promise<TransitionEvent[]>;
}

/** What the metrics listener needs of a running agent. */
export interface MetricsPort {
  metricsText(): Promise<{ readonly contentType: string; readonly body: string }>;
}

/** What the admin API reports as it refuses requests (metrics). */
export interface AdminDelegate {
  onAuthFailure(): void;
  onLockout(): void;
}
