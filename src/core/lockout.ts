export interface LockoutOptions {
  readonly maxFailures: number;
  readonly periodMs: number;
  /** Sources remembered at most; the least recently touched is forgotten first. */
  readonly maxSources?: number;
}

interface SourceState {
  readonly failures: number;
  /** Failures older than one period no longer count towards a lock. */
  readonly firstFailureAt: number;
  readonly lockedUntil: number | null;
}

export const DEFAULT_MAX_SOURCES = 10_000;

/**
 * The guide's "3 failed attempts, then locked", per admin client address.
 * `maxFailures` failures within `periodMs` of the first one lock the source for
 * `periodMs` from the failure that tripped it; the lock ends at exactly
 * `lockedUntil`. The caller checks `isLocked` before it even looks at the
 * token, so a locked source is refused with the right token too.
 *
 * Memory is bounded: a source's state is dropped when it is next seen after it
 * expired, and the map never exceeds `maxSources`. Evicting the least recently
 * touched source can forget a lock, but only after that many distinct sources
 * failed since — an attacker who has that many addresses does not need to wait
 * out a lock anyway.
 */
export class Lockout {
  private readonly sources = new Map<string, SourceState>();
  private readonly maxFailures: number;
  private readonly periodMs: number;
  private readonly maxSources: number;

  constructor(opts: LockoutOptions) {
    this.maxFailures = opts.maxFailures;
    this.periodMs = opts.periodMs;
    this.maxSources = opts.maxSources ?? DEFAULT_MAX_SOURCES;
  }

  isLocked(source: string, now: number): boolean {
    return this.current(source, now)?.lockedUntil != null;
  }

  /** `lockedNow` is true only for the failure that trips the lock, so a lockout is counted once. */
  recordFailure(source: string, now: number): { lockedNow: boolean } {
    const state = this.current(source, now);
    if (state?.lockedUntil != null) return { lockedNow: false };
    const failures = (state?.failures ?? 0) + 1;
    const lockedNow = failures >= this.maxFailures;
    this.touch(source, {
      failures,
      firstFailureAt: state?.firstFailureAt ?? now,
      lockedUntil: lockedNow ? now + this.periodMs : null,
    });
    return { lockedNow };
  }

  /**
   * Clears the failure count. A lock is left to expire: whatever order the
   * caller checks things in, a success cannot shorten a lock.
   */
  recordSuccess(source: string): void {
    if (this.sources.get(source)?.lockedUntil == null) this.sources.delete(source);
  }

  /** The source's state, after dropping it if its lock or failure window is over. */
  private current(source: string, now: number): SourceState | undefined {
    const state = this.sources.get(source);
    if (state === undefined) return undefined;
    const expiresAt = state.lockedUntil ?? state.firstFailureAt + this.periodMs;
    if (now < expiresAt) return state;
    this.sources.delete(source);
    return undefined;
  }

  private touch(source: string, state: SourceState): void {
    // Re-inserting moves the source to the end of the Map's insertion order, which makes the first key the least recently touched.
    this.sources.delete(source);
    this.sources.set(source, state);
    for (const oldest of this.sources.keys()) {
      if (this.sources.size <= this.maxSources) break;
      this.sources.delete(oldest);
    }
  }

  /** Sources currently remembered; for tests of the memory bound. */
  get size(): number {
    return this.sources.size;
  }
}
