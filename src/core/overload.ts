export interface OverloadLimits {
  readonly eventLoopLagMs: number;
  readonly maxPendingVerifications: number;
}

/**
 * Why a new INVITE should be shed at once with 503, or null. Answering fast
 * beats piling calls onto a loop that can no longer keep its probe timers.
 */
export function overloadReason(lagMs: number, pendingVerifications: number, limits: OverloadLimits): string | null {
  if (lagMs > limits.eventLoopLagMs) return `event loop lag ${Math.round(lagMs)} ms > ${limits.eventLoopLagMs} ms`;
  if (pendingVerifications >= limits.maxPendingVerifications) {
    return `${pendingVerifications} calls waiting on verification (limit ${limits.maxPendingVerifications})`;
  }
  return null;
}
