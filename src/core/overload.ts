import type { DissuasionResponse } from './dissuasion';

export interface OverloadLimits {
  readonly eventLoopLagMs: number;
  readonly maxPendingVerifications: number;
  readonly maxInFlightInvites: number;
  /** New calls the owner bridges per second; 0: no limit. */
  readonly maxCallsPerSecond: number;
}

/** What the agent has on its hands when a new INVITE arrives. */
export interface Load {
  readonly lagMs: number;
  readonly pendingVerifications: number;
  /** INVITEs admitted and not yet given a final response. */
  readonly inFlightInvites: number;
}

/**
 * Why a new INVITE should be shed at once, or null. Answering fast beats piling
 * calls onto a loop that can no longer keep its probe timers. The in-flight
 * bound acts first at the knee: past it every admitted INVITE waits longer, the
 * caller retransmits, and the retransmissions feed the overload; lag shows only
 * once the loop is already behind.
 */
export function overloadReason(load: Load, limits: OverloadLimits): string | null {
  if (load.inFlightInvites >= limits.maxInFlightInvites) {
    return `${load.inFlightInvites} INVITEs in flight (limit ${limits.maxInFlightInvites})`;
  }
  if (load.lagMs > limits.eventLoopLagMs) return `event loop lag ${Math.round(load.lagMs)} ms > ${limits.eventLoopLagMs} ms`;
  if (load.pendingVerifications >= limits.maxPendingVerifications) {
    return `${load.pendingVerifications} calls waiting on verification (limit ${limits.maxPendingVerifications})`;
  }
  return null;
}

/**
 * New calls bridged per second, as a token bucket refilled continuously: a burst
 * of up to a fifth of a second's worth passes at once, a steady flow above the
 * rate is shed by exactly its excess. In-flight INVITEs and lag show overload
 * only once latency has grown; a rate set below the measured knee keeps the
 * stack from reaching it, so the calls admitted stay as fast as below it.
 */
export class CallRate {
  private readonly capacity: number;
  private tokens: number;
  private last: number | undefined;

  /** `perSecond` 0: no limit. */
  constructor(private readonly perSecond: number) {
    this.capacity = Math.max(1, perSecond / 5);
    this.tokens = this.capacity;
  }

  /** Takes one call's place at `now` (ms), if there is one. */
  tryAdmit(now: number): boolean {
    if (this.perSecond === 0) return true;
    // A wall clock set back must not empty the bucket.
    if (this.last !== undefined) this.tokens = Math.min(this.capacity, this.tokens + (Math.max(0, now - this.last) * this.perSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Why a new INVITE is shed: the shared bounds first, then, for a call about to
 * be bridged, the call rate. A shed INVITE takes no place in the rate.
 */
export function shedReason(load: Load, limits: OverloadLimits, bridging: boolean, rate: CallRate, now: number): string | null {
  const reason = overloadReason(load, limits);
  if (reason !== null || !bridging || rate.tryAdmit(now)) return reason;
  return `more than ${limits.maxCallsPerSecond} new calls per second`;
}

const OVERLOADED: DissuasionResponse = { status: 503, reason: 'Service Unavailable', headers: { Warning: '399 understudy "overloaded"' } };

/**
 * The final response a shed INVITE gets. The owner's 503 carries no Retry-After:
 * with one the IPBX may take the node out of service for that long, past the
 * burst. A non-owner sheds with the dissuasion, the answer the IPBX already
 * knows for "send it back to the owner", and the owner is the one with room.
 */
export function sheddingResponse(isOwner: boolean, dissuasion: DissuasionResponse | null): DissuasionResponse {
  return isOwner || !dissuasion ? OVERLOADED : dissuasion;
}
