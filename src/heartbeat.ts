import type { Logger } from 'pino';
import type { Clock } from './core/clock';
import { epoch, type Heartbeat, type NodeId, type Ownership } from './core/types';
import { type StateStore, type StoreErrorDelegate, storeFailed } from './state/store';

export interface HeartbeatDelegate extends StoreErrorDelegate {
  onPeerHeartbeatAge(seconds: number | null): void;
}

export interface HeartbeatOptions {
  readonly self: NodeId;
  /** null in single-node mode. */
  readonly peer: NodeId | null;
  readonly staleAfterMs: number;
}

/**
 * This node's heartbeat in the shared store (status, time, epoch seen), and the
 * peer's age as read back at each beat. The epoch seen is how a node that gave
 * up ownership tells the new owner it has unregistered.
 */
export class HeartbeatPublisher {
  private peerAge: number | null = null;

  constructor(
    private readonly opts: HeartbeatOptions,
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly delegate: HeartbeatDelegate,
    private readonly appHealthy: () => boolean,
  ) {}

  /** Seconds since the peer's last heartbeat, null when absent or unreadable. */
  get peerAgeSec(): number | null {
    return this.peerAge;
  }

  /** `seen`: the ownership this node acts on; the new owner after a handover waits for its epoch here. */
  async beat(seen: Ownership | null): Promise<void> {
    const now = this.clock.now();
    const status = this.appHealthy() ? 'healthy' : 'unhealthy';
    const hb: Heartbeat = seen === null ? { node: this.opts.self, status, at: now, epochSeen: epoch(0) } : { node: this.opts.self, status, at: now, epochSeen: seen.epoch, ownerSeen: seen.owner };
    try {
      await this.store.writeHeartbeat(hb, this.opts.staleAfterMs * 2);
      const peer = this.opts.peer === null ? null : await this.store.readHeartbeat(this.opts.peer);
      this.peerAge = peer ? (now - peer.at) / 1000 : null;
    } catch (err) {
      storeFailed(this.delegate, this.log, 'heartbeat', err);
      this.peerAge = null;
    }
    this.delegate.onPeerHeartbeatAge(this.peerAge);
  }
}
