/**
 * Whether the local application counts as healthy, from more than one piece of
 * evidence. Its health decides our OPTIONS answer and our heartbeat, so the
 * peer reads an unhealthy owner as dead and takes over: one late or lost
 * health probe must not do that, while a call that failed to reach the app and
 * a probe that fails right after it are enough.
 */
export interface HealthEvidence {
  readonly healthy: boolean;
  /** Health probes failed in a row. */
  readonly failures: number;
  /** A call failed to reach the app at transport level since the last answer. */
  readonly suspect: boolean;
}

export type HealthEvent = 'probe-answered' | 'probe-failed' | 'call-failed';

/** Before the first answer the app is not known to be healthy. */
export const UNKNOWN_HEALTH: HealthEvidence = { healthy: false, failures: 0, suspect: false };

/** `failuresToDown`: probes failed in a row that make a healthy app unhealthy on their own. */
export function healthStep(state: HealthEvidence, event: HealthEvent, failuresToDown: number): HealthEvidence {
  switch (event) {
    case 'probe-answered':
      return { healthy: true, failures: 0, suspect: false };
    case 'call-failed':
      return { ...state, suspect: true };
    case 'probe-failed': {
      const failures = state.failures + 1;
      return { healthy: state.healthy && !state.suspect && failures < failuresToDown, failures, suspect: state.suspect };
    }
  }
}
