/** Runs async functions one after another: each starts only once every earlier one has settled. */
export function serialized() {
  let busy: Promise<unknown> | null = null;
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      while (busy) await busy.catch(() => undefined);
      const p = fn();
      busy = p;
      try {
        return await p;
      } finally {
        if (busy === p) busy = null;
      }
    },
  };
}
