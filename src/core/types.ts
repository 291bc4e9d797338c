/**
 * The domain vocabulary shared by every module. Nothing here does I/O.
 */

/** The configured name of a node (`node.id`), e.g. `node-a`. */
export type NodeId = string;

/** Increases by one at every change of owner; the compare-and-set key of ownership. */
export type Epoch = number & { readonly __brand: 'Epoch' };

export function epoch(n: number): Epoch {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`epoch must be a non-negative integer, got ${n}`);
  return n as Epoch;
}

export function nextEpoch(e: Epoch): Epoch {
  return epoch(e + 1);
}

/** Who holds the application's registration at the IPBX right now. */
export interface Ownership {
  readonly owner: NodeId;
  readonly epoch: Epoch;
}

/** `ha` takes over by itself; `backup` only raises the alarm and waits for an operator. */
export type Mode = 'ha' | 'backup';

/** The configured preference; ownership is runtime state and may differ. */
export type Role = 'primary' | 'secondary';

/** What one OPTIONS probe of the owner found. */
export type ProbeOutcome =
  | 'alive' // answered with one of the alive status codes
  | 'not-alive' // answered, but with another code (e.g. 503: its application is down)
  | 'no-answer' // nothing before the per-probe timeout
  | 'error'; // could not even be sent (drachtio down, bad URI…)

export interface ProbeResult {
  readonly attempt: number;
  readonly outcome: ProbeOutcome;
  readonly status?: number;
  readonly rttMs: number;
  /** Wall-clock ms when the probe was sent. */
  readonly at: number;
  readonly detail?: string;
}

/** What the SIP path alone says about the owner after one verification cycle. */
export interface SipVerdict {
  readonly alive: boolean;
  readonly probes: readonly ProbeResult[];
  readonly decidedAt: number;
}

/** What the owner's heartbeat in the shared store says. */
export type HeartbeatEvidence =
  | 'fresh-healthy'
  | 'fresh-unhealthy'
  | 'stale' // written once, too old now
  | 'absent' // never written, or expired from the store
  | 'unknown'; // the store could not be read (no Redis, or Redis down)

/**
 * The final verdict on the owner:
 * - `alive`: dissuade, the IPBX will retry the owner;
 * - `dead`: the SIP path and the heartbeat agree (or the heartbeat cannot be read);
 * - `split`: the SIP path says dead but the owner's heartbeat is fresh and healthy,
 *   i.e. we cannot reach it but it still serves: never take over on that.
 */
export type VerdictKind = 'alive' | 'dead' | 'split';

export interface Verdict {
  readonly kind: VerdictKind;
  readonly sip: SipVerdict;
  readonly heartbeat: HeartbeatEvidence;
}

export type HealthStatus = 'healthy' | 'unhealthy';

/** Written by every node at a fixed interval, with a TTL. */
export interface Heartbeat {
  readonly node: NodeId;
  readonly status: HealthStatus;
  /** Wall-clock ms when written. */
  readonly at: number;
  readonly epochSeen: Epoch;
  /** The owner this node follows at `epochSeen`; absent while it knows none. */
  readonly ownerSeen?: NodeId;
  /** The pair settings' fingerprint (core/settings-fingerprint.ts); absent from older versions. */
  readonly settings?: Readonly<Record<string, string>>;
}

/** `restore`: the store had lost the ownership (or held an older one) and a node wrote back the newest it knew. */
export type TransitionKind = 'init' | 'restore' | 'takeover' | 'rollback' | 'failback' | 'switchover';

/** One change of ownership, with why it happened; appended to the event stream. */
export interface TransitionEvent {
  readonly kind: TransitionKind;
  readonly from: NodeId | null;
  readonly to: NodeId;
  readonly epoch: Epoch;
  readonly by: NodeId;
  readonly at: number;
  readonly reason: string;
  readonly evidence?: unknown;
}
