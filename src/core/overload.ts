import type { DissuasionResponse } from './dissuasion';

export interface OverloadLimits {
  readonly eventLoopLagMs: number;
  readonly maxPendingVerifications: number;
  readonly maxInFlightInvites: number;
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
