import type { Logger } from 'pino';
import type { Clock } from './core/clock';
import { driftedKeys, type SettingsFingerprint } from './core/settings-fingerprint';
import { epoch, type Heartbeat, type NodeId, type Ownership } from './core/types';
import { type StateStore, type StoreErrorDelegate, storeFailed } from './state/store';

export interface HeartbeatDelegate extends StoreErrorDelegate {
  onPeerHeartbeatAge(seconds: number | null): void;
  /** The pair settings that differ from the peer's (empty: they agree), on every change. */
  onConfigDrift(keys: readonly string[]): void;
}

export interface HeartbeatOptions {
  readonly self: NodeId;
  /** null in single-node mode. */
  readonly peer: NodeId | null;
  readonly staleAfterMs: number;
  /** This node's pair settings, published for the peer to compare. */
  readonly settings: SettingsFingerprint;
}

/**
 * This node's heartbeat in the shared store (status, time, epoch seen), and the
 * peer's age as read back at each beat. The epoch seen is how a node that gave
 * up ownership tells the new owner it has unregistered.
 */
export class HeartbeatPublisher {
  private peerAge: number | null = null;
  /** null: not compared (no peer, no heartbeat from it, or a peer that publishes none). */
  private drift: readonly string[] | null = null;

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

  /** The pair settings that differ from the peer's at the last comparison; null when not compared. */
  get settingsDrift(): readonly string[] | null {
    return this.drift;
  }

  /** `seen`: the ownership this node acts on; the new owner after a handover waits for its epoch here. */
  async beat(seen: Ownership | null): Promise<void> {
    const now = this.clock.now();
    const status = this.appHealthy() ? 'healthy' : 'unhealthy';
    const base = { node: this.opts.self, status, at: now, settings: this.opts.settings } as const;
    const hb: Heartbeat = seen === null ? { ...base, epochSeen: epoch(0) } : { ...base, epochSeen: seen.epoch, ownerSeen: seen.owner };
    try {
      await this.store.writeHeartbeat(hb, this.opts.staleAfterMs * 2);
      const peer = this.opts.peer === null ? null : await this.store.readHeartbeat(this.opts.peer);
      this.peerAge = peer ? (now - peer.at) / 1000 : null;
      if (peer?.settings) this.compareSettings(peer.settings);
    } catch (err) {
      storeFailed(this.delegate, this.log, 'heartbeat', err);
      this.peerAge = null;
    }
    this.delegate.onPeerHeartbeatAge(this.peerAge);
  }

  /** Kept while the peer is away: a drift does not heal because the peer stopped beating. */
  private compareSettings(peer: SettingsFingerprint): void {
    const keys = driftedKeys(this.opts.settings, peer);
    if (this.drift !== null && keys.join() === this.drift.join()) return;
    if (keys.length > 0) this.log.error({ keys, peer: this.opts.peer }, `settings differ from the peer's: ${keys.join(', ')}; make both configs agree`);
    else if (this.drift?.length) this.log.info({ peer: this.opts.peer }, 'settings agree with the peer again');
    this.drift = keys;
    this.delegate.onConfigDrift(keys);
  }
}
