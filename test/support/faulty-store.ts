import type { StateStore } from '../../src/state/store';

/**
 * Wraps a store so a test can take it down (every call then rejects, as a dead
 * Redis would) or replace what is behind it (a Redis restarted without its data).
 */
export function faulty(inner: StateStore): StateStore & { down: boolean; replace(next: StateStore): void } {
  const wrapper = {
    down: false,
    replace: (next: StateStore) => {
      inner = next;
    },
    kind: inner.kind,
    isReachable: () => !wrapper.down && inner.isReachable(),
    ready: async () => !wrapper.down && (await inner.ready()),
    close: () => inner.close(),
  } as StateStore & { down: boolean; replace(next: StateStore): void };
  for (const op of ['readOwnership', 'compareAndSetOwnership', 'writeHeartbeat', 'readHeartbeat', 'appendEvent', 'recentEvents'] as const) {
    (wrapper as unknown as Record<string, unknown>)[op] = (...args: unknown[]) =>
      wrapper.down ? Promise.reject(new Error(`store down (${op})`)) : (inner[op] as (...a: unknown[]) => Promise<unknown>)(...args);
  }
  return wrapper;
}
