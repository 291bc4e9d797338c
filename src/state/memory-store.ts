import type { Epoch, Heartbeat, NodeId, Ownership, TransitionEvent } from '../core/types';
import type { CasOutcome, StateStore } from './store';

const MAX_EVENTS = 1000;

/** Single-node mode: the same contract as Redis, held in this process. */
export class MemoryStore implements StateStore {
  readonly kind = 'memory' as const;
  private ownership: Ownership | null = null;
  private readonly heartbeats = new Map<NodeId, { hb: Heartbeat; expiresAt: number }>();
  private readonly events: TransitionEvent[] = [];

  async readOwnership(): Promise<Ownership | null> {
    return this.ownership;
  }

  async compareAndSetOwnership(expected: Epoch | null, next: Ownership): Promise<CasOutcome> {
    const current = this.ownership;
    const matches = expected === null ? current === null : current?.epoch === expected;
    if (!matches || (current && next.epoch <= current.epoch)) return { ok: false, current };
    this.ownership = next;
    return { ok: true, ownership: next };
  }

  async writeHeartbeat(hb: Heartbeat, ttlMs: number): Promise<void> {
    this.heartbeats.set(hb.node, { hb, expiresAt: Date.now() + ttlMs });
  }

  async readHeartbeat(node: NodeId): Promise<Heartbeat | null> {
    const entry = this.heartbeats.get(node);
    if (!entry) return null;
    if (Date.now() >= entry.expiresAt) {
      this.heartbeats.delete(node);
      return null;
    }
    return entry.hb;
  }

  async appendEvent(event: TransitionEvent): Promise<void> {
    this.events.push(event);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  async recentEvents(count: number): Promise<TransitionEvent[]> {
    return count <= 0 ? [] : this.events.slice(-count);
  }

  async ready(): Promise<boolean> {
    return true;
  }

  isReachable(): boolean {
    return true;
  }

  async close(): Promise<void> {}
}
