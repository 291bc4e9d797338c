/**
 * When to give up on a drachtio-server connection that stopped answering pings.
 *
 * A silent server is either frozen (SIGSTOP, a paused VM, a stalled host) or
 * gone without a FIN (power loss, partition). A frozen one answers again on the
 * same connection once it thaws, and replacing the connection meanwhile hurts:
 * drachtio-server then replays what the dead connection had queued and can keep
 * it as a route for new INVITEs, which are lost. So silence first only marks the
 * link down (no calls can arrive anyway); the connection is replaced only after
 * `replaceAfterMs` of silence, when a server that comes back will be a new one.
 */

export type LinkState = { readonly kind: 'answering' } | { readonly kind: 'silent'; readonly since: number };

export type LinkAction =
  /** Nothing changes. */
  | 'none'
  /** More than `maxUnanswered` pings outstanding: the link is down, the connection kept. */
  | 'silent'
  /** Every ping answered again on the same connection: the link is back. */
  | 'answering'
  /** Silent for `replaceAfterMs`: close the connection and connect anew. */
  | 'replace';

export interface LinkWatchdogOptions {
  readonly maxUnanswered: number;
  readonly replaceAfterMs: number;
}

export const ANSWERING: LinkState = { kind: 'answering' };

/** One watchdog tick: `unanswered` pings outstanding on the connection at `now`. */
export function linkStep(state: LinkState, unanswered: number, now: number, opts: LinkWatchdogOptions): { state: LinkState; action: LinkAction } {
  if (state.kind === 'answering') {
    return unanswered > opts.maxUnanswered ? { state: { kind: 'silent', since: now }, action: 'silent' } : { state, action: 'none' };
  }
  if (unanswered === 0) return { state: ANSWERING, action: 'answering' };
  if (now - state.since >= opts.replaceAfterMs) return { state: ANSWERING, action: 'replace' };
  return { state, action: 'none' };
}

/**
 * Whether the pings that feed the watchdog should have started by now. They
 * start one interval after connecting; two intervals without a single one mean
 * nobody will send them on this connection.
 */
export function pingsOverdue(connectedAt: number, pinged: boolean, now: number, pingIntervalMs: number): boolean {
  return !pinged && now - connectedAt >= 2 * pingIntervalMs;
}
