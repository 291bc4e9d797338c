import type { Clock, TimerHandle } from '../../src/core/clock';

interface ScheduledTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** Lets pending promise chains run: a few macrotask turns drain every microtask queued meanwhile. */
export async function flush(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A deterministic `Clock`: time moves only through `advance`, which fires due
 * timers one at a time in time order (ties in the order they were set) and lets
 * async chains settle after each, so a timer set by a continuation of an earlier
 * timer fires in the same `advance` when it falls due within it.
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, ScheduledTimer>();

  constructor(start = 1_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.current + Math.max(0, ms), fn });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    if (typeof handle.id === 'number') this.timers.delete(handle.id);
  }

  /** Timers set and neither fired nor cleared. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance by ${ms} ms`);
    const target = this.current + ms;
    await flush();
    for (let due = this.nextDue(target); due; due = this.nextDue(target)) {
      this.timers.delete(due.id);
      this.current = due.at;
      due.fn();
      await flush();
    }
    this.current = target;
    await flush();
  }

  private nextDue(limit: number): ScheduledTimer | undefined {
    let first: ScheduledTimer | undefined;
    for (const timer of this.timers.values()) {
      if (timer.at > limit) continue;
      if (!first || timer.at < first.at || (timer.at === first.at && timer.id < first.id)) first = timer;
    }
    return first;
  }
}

/** Watches a promise so a test can ask, at any fake instant, whether it has settled yet. */
export interface Watched<T> {
  readonly settled: boolean;
  /** The resolved value; throws if the promise has not resolved. */
  readonly value: T;
}

export function watch<T>(p: Promise<T>): Watched<T> {
  let state: { readonly kind: 'pending' } | { readonly kind: 'resolved'; readonly value: T } | { readonly kind: 'rejected'; readonly error: unknown } = {
    kind: 'pending',
  };
  p.then(
    (value) => (state = { kind: 'resolved', value }),
    (error: unknown) => (state = { kind: 'rejected', error }),
  );
  return {
    get settled() {
      return state.kind !== 'pending';
    },
    get value() {
      if (state.kind === 'resolved') return state.value;
      if (state.kind === 'rejected') throw state.error;
      throw new Error('the promise has not settled yet');
    },
  };
}
