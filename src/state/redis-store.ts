import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import Redis, { type RedisOptions } from 'ioredis';
import { epoch, type Epoch, type Heartbeat, type NodeId, type Ownership, type TransitionEvent } from '../core/types';
import type { CasOutcome, StateStore } from './store';

export interface RedisStoreOptions {
  readonly url?: string;
  readonly sentinels?: readonly { readonly host: string; readonly port: number }[];
  readonly sentinelName?: string;
  readonly username?: string;
  readonly password?: string;
  readonly sentinelUsername?: string;
  readonly sentinelPassword?: string;
  /** TLS, also implied by a `rediss://` URL; `ca` is a PEM file. */
  readonly tls?: { readonly ca?: string; readonly servername?: string };
  readonly commandTimeoutMs: number;
  readonly keyPrefix: string;
  readonly onReachabilityChange?: (up: boolean) => void;
  /** Every operation's outcome (null: it succeeded), for the log of a lasting fault. */
  readonly onOutcome?: (op: string, error: string | null) => void;
}

/**
 * Compare-and-set of ownership in one step on the server: two nodes racing on
 * the same epoch cannot both win. Epochs only grow, whatever `expected` says.
 * Returns {1, stored} on success, {0, current-or-false} otherwise.
 */
const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
local expected = ARGV[1]
local nextEpoch = tonumber(ARGV[3])
if cur then
  local c = cjson.decode(cur)
  if expected == '' or tonumber(expected) ~= c.epoch or nextEpoch <= c.epoch then return {0, cur} end
elseif expected ~= '' then
  return {0, false}
end
redis.call('SET', KEYS[1], ARGV[2])
return {1, ARGV[2]}
`;

const MAX_EVENTS = 10000;

/**
 * Shared state in Redis (or Redis behind Sentinel). Fails fast: no offline
 * queue and a command timeout, so a dead or hung Redis costs a call at most
 * `commandTimeoutMs` and never stalls it.
 */
export class RedisStore implements StateStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  private reachable = false;
  private readonly connectTimeoutMs: number;

  constructor(private readonly opts: RedisStoreOptions) {
    this.connectTimeoutMs = Math.max(1000, opts.commandTimeoutMs * 4);
    const common: RedisOptions = {
      enableOfflineQueue: false,
      commandTimeout: opts.commandTimeoutMs,
      connectTimeout: this.connectTimeoutMs,
      maxRetriesPerRequest: 0,
      // Reconnect forever, never faster than every 2 s once it keeps failing.
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
      ...(opts.username ? { username: opts.username } : {}),
      ...(opts.password ? { password: opts.password } : {}),
    };
    const tls = tlsOptions(opts);
    this.redis = opts.sentinels
      ? new Redis({
          ...common,
          sentinels: opts.sentinels.map((s) => ({ ...s })),
          name: opts.sentinelName ?? 'mymaster',
          ...(opts.sentinelUsername ? { sentinelUsername: opts.sentinelUsername } : {}),
          ...(opts.sentinelPassword ? { sentinelPassword: opts.sentinelPassword } : {}),
          // One TLS setting for the deployment: the Sentinels and the master they name.
          ...(tls ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
        })
      : new Redis(opts.url ?? 'redis://127.0.0.1:6379', { ...common, ...(tls ? { tls } : {}) });
    this.redis.on('ready', () => this.setReachable(true));
    // Without an 'error' listener ioredis prints every failed reconnect; reachability is what matters here.
    this.redis.on('error', () => this.setReachable(false));
    this.redis.on('end', () => this.setReachable(false));
    this.redis.on('close', () => this.setReachable(false));
  }

  ready(): Promise<boolean> {
    if (this.redis.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (up: boolean) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        resolve(up);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), this.connectTimeoutMs);
      this.redis.once('ready', onReady);
    });
  }

  isReachable(): boolean {
    return this.reachable;
  }

  async readOwnership(): Promise<Ownership | null> {
    const raw = await this.run('readOwnership', () => this.redis.get(this.key('ownership')));
    return raw === null ? null : parseOwnership(raw, this.key('ownership'));
  }

  async compareAndSetOwnership(expected: Epoch | null, next: Ownership): Promise<CasOutcome> {
    const key = this.key('ownership');
    const reply = await this.run('compareAndSetOwnership', () =>
      this.redis.eval(CAS_SCRIPT, 1, key, expected === null ? '' : String(expected), JSON.stringify(next), String(next.epoch)),
    );
    if (!Array.isArray(reply) || reply.length !== 2) throw new Error(`redis compareAndSetOwnership: unexpected reply`);
    const [won, stored] = reply as [unknown, unknown];
    const current = typeof stored === 'string' ? parseOwnership(stored, key) : null;
    if (won === 1 && current) return { ok: true, ownership: current };
    return { ok: false, current };
  }

  async writeHeartbeat(hb: Heartbeat, ttlMs: number): Promise<void> {
    await this.run('writeHeartbeat', () => this.redis.set(this.key(`heartbeat:${hb.node}`), JSON.stringify(hb), 'PX', ttlMs));
  }

  async readHeartbeat(node: NodeId): Promise<Heartbeat | null> {
    const key = this.key(`heartbeat:${node}`);
    const raw = await this.run('readHeartbeat', () => this.redis.get(key));
    return raw === null ? null : parseHeartbeat(raw, key);
  }

  async appendEvent(event: TransitionEvent): Promise<void> {
    await this.run('appendEvent', () =>
      this.redis.xadd(this.key('events'), 'MAXLEN', '~', String(MAX_EVENTS), '*', 'event', JSON.stringify(event)),
    );
  }

  async recentEvents(count: number): Promise<TransitionEvent[]> {
    if (count <= 0) return [];
    const key = this.key('events');
    const entries = await this.run('recentEvents', () => this.redis.xrevrange(key, '+', '-', 'COUNT', count));
    return entries
      .map(([, fields]) => parseEvent(fields[fields.indexOf('event') + 1] ?? '', key))
      .reverse();
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  private key(name: string): string {
    return `${this.opts.keyPrefix}${name}`;
  }

  private async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      const r = await fn();
      this.setReachable(true);
      this.opts.onOutcome?.(op, null);
      return r;
    } catch (err) {
      if (this.redis.status !== 'ready' || /timed out|Connection|ECONN|closed/i.test(String(err))) this.setReachable(false);
      const failure = new Error(`redis ${op} failed: ${err instanceof Error ? err.message : String(err)}`);
      this.opts.onOutcome?.(op, failure.message);
      throw failure;
    }
  }

  private setReachable(up: boolean): void {
    if (up === this.reachable) return;
    this.reachable = up;
    this.opts.onReachabilityChange?.(up);
  }
}

/**
 * TLS options when `tls` is configured or the URL is `rediss://`; undefined for
 * plain TCP. The CA is read once, at construction: a missing file stops the
 * start rather than every reconnect.
 */
function tlsOptions(opts: RedisStoreOptions): ConnectionOptions | undefined {
  if (!opts.tls && !opts.url?.startsWith('rediss://')) return undefined;
  return {
    ...(opts.tls?.ca ? { ca: readFileSync(opts.tls.ca) } : {}),
    ...(opts.tls?.servername ? { servername: opts.tls.servername } : {}),
  };
}

function parseJson(raw: string, key: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new Error(`${key}: stored value is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${key}: stored value is not an object`);
  return v as Record<string, unknown>;
}

function parseOwnership(raw: string, key: string): Ownership {
  const v = parseJson(raw, key);
  if (typeof v.owner !== 'string' || typeof v.epoch !== 'number') throw new Error(`${key}: not an ownership record`);
  return { owner: v.owner, epoch: epoch(v.epoch) };
}

function parseHeartbeat(raw: string, key: string): Heartbeat {
  const v = parseJson(raw, key);
  if (typeof v.node !== 'string' || (v.status !== 'healthy' && v.status !== 'unhealthy') || typeof v.at !== 'number' || typeof v.epochSeen !== 'number') {
    throw new Error(`${key}: not a heartbeat record`);
  }
  const settings = stringRecord(v.settings);
  return {
    node: v.node,
    status: v.status,
    at: v.at,
    epochSeen: epoch(v.epochSeen),
    ...(typeof v.ownerSeen === 'string' ? { ownerSeen: v.ownerSeen } : {}),
    ...(settings ? { settings } : {}),
  };
}

function stringRecord(v: unknown): Record<string, string> | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const entries = Object.entries(v);
  return entries.every(([, x]) => typeof x === 'string') ? Object.fromEntries(entries as [string, string][]) : null;
}

const TRANSITION_KINDS = ['init', 'restore', 'takeover', 'rollback', 'failback', 'switchover'] as const;

function parseEvent(raw: string, key: string): TransitionEvent {
  const v = parseJson(raw, key);
  const kind = TRANSITION_KINDS.find((k) => k === v.kind);
  if (!kind || typeof v.to !== 'string' || typeof v.epoch !== 'number' || typeof v.by !== 'string' || typeof v.at !== 'number' || typeof v.reason !== 'string') {
    throw new Error(`${key}: not a transition event`);
  }
  return {
    kind,
    from: typeof v.from === 'string' ? v.from : null,
    to: v.to,
    epoch: epoch(v.epoch),
    by: v.by,
    at: v.at,
    reason: v.reason,
    ...(v.evidence === undefined ? {} : { evidence: v.evidence }),
  };
}
