import { type Clock } from './clock';
import type { ProbeResult } from './types';

/** What the SIP layer reports for one OPTIONS: a final status, or why none could be had. */
export type ProbeAnswer = { readonly status: number } | { readonly error: string };

/** Sends one OPTIONS; the returned promise may never settle (Timer F is 32 s). */
export type SendProbe = (signal: AbortSignal) => Promise<ProbeAnswer>;

/**
 * One probe with a timeout of its own: drachtio's `srf.request()` has none, and
 * waiting for the stack's Timer F would hold an overflow call for 32 seconds.
 * A late answer after the timeout is ignored.
 */
export function probeOnce(
  send: SendProbe,
  opts: { readonly attempt: number; readonly timeoutMs: number; readonly aliveStatuses: readonly number[] },
  clock: Clock,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const at = clock.now();
  const controller = new AbortController();
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<ProbeResult, 'attempt' | 'at' | 'rttMs'>) => {
      if (settled) return;
      settled = true;
      clock.clearTimer(timer);
      signal?.removeEventListener('abort', onOuterAbort);
      controller.abort();
      resolve({ attempt: opts.attempt, at, rttMs: clock.now() - at, ...r });
    };
    const onOuterAbort = () => finish({ outcome: 'error', detail: 'cancelled' });
    const timer = clock.setTimer(opts.timeoutMs, () =>
      finish({ outcome: 'no-answer', detail: `no answer within ${opts.timeoutMs} ms` }),
    );
    if (signal?.aborted) return onOuterAbort();
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    let sent: Promise<ProbeAnswer>;
    try {
      sent = send(controller.signal);
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      (answer) => {
        if ('error' in answer) finish({ outcome: 'error', detail: answer.error });
        else if (opts.aliveStatuses.includes(answer.status)) finish({ outcome: 'alive', status: answer.status });
        else finish({ outcome: 'not-alive', status: answer.status });
      },
      (err: unknown) => finish({ outcome: 'error', detail: err instanceof Error ? err.message : String(err) }),
    );
  });
}
