import type { Clock } from './core/clock';

/** The runtime's clock; the core only ever sees the Clock interface, so tests substitute a fake. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    // A pending probe or refresh must never keep a stopping process alive.
    t.unref();
    return { id: t };
  },
  clearTimer: (h) => clearTimeout(h.id as NodeJS.Timeout),
};
