/**
 * Time as the core sees it. The core never calls setTimeout or Date.now directly,
 * so every timing rule (per-probe timeout, interval, alive TTL) is unit-testable
 * with a fake clock.
 */
export interface TimerHandle {
  readonly id: unknown;
}

export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Resolves after `ms`, or at once when `signal` aborts (resolving false). */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clock.clearTimer(handle);
      resolve(false);
    };
    const handle = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Settles like `p`, or with `onTimeout()` after `ms` if `p` has not settled by then. */
export function withTimeout<T>(clock: Clock, p: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimer(ms, () => resolve(onTimeout()));
    p.then(
      (v) => {
        clock.clearTimer(timer);
        resolve(v);
      },
      (e: unknown) => {
        clock.clearTimer(timer);
        reject(e);
      },
    );
  });
}
