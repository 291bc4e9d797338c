import { dissuasionResponse, type DissuasionResponse } from './dissuasion';
import type { Heartbeat, Mode, SipVerdict, Verdict, VerdictKind } from './types';
import { heartbeatEvidence, judge } from './verdict';

/**
 * What to do with an overflow INVITE once the owner has been judged.
 * - `dissuade`: refuse so the IPBX returns the call to the owner;
 * - `takeover`: become the owner, then bridge this call;
 * - `alarm`: the owner is dead but this mode waits for an operator; refuse and raise the alarm.
 */
export type OverflowAction =
  | { readonly kind: 'dissuade'; readonly because: 'alive' | 'split' }
  | { readonly kind: 'takeover' }
  | { readonly kind: 'alarm' };

export function decideOverflow(verdict: VerdictKind, mode: Mode): OverflowAction {
  switch (verdict) {
    case 'alive':
      return { kind: 'dissuade', because: 'alive' };
    case 'split':
      return { kind: 'dissuade', because: 'split' };
    case 'dead':
      return mode === 'ha' ? { kind: 'takeover' } : { kind: 'alarm' };
  }
}

export interface OverflowPolicy {
  readonly mode: Mode;
  readonly dissuasion: { readonly status: number; readonly reason?: string };
  /** Where a 302 dissuasion points the IPBX. */
  readonly ownerUri: string;
  readonly staleAfterMs: number;
}

/** The owner judged, and what that means for the call. */
export interface OverflowRuling {
  readonly verdict: Verdict;
  readonly action: OverflowAction;
  /** The answer for a call that is not bridged: dissuaded, alarmed, or a takeover the IPBX refused. */
  readonly refusal: DissuasionResponse;
}

/**
 * Evidence in, ruling out: the SIP path's verdict and the owner's heartbeat
 * (`unreadable` when the store could not be asked, or was not asked because
 * the owner answered) become the verdict, the action and the refusal.
 */
export function ruleOnOverflow(sip: SipVerdict, heartbeat: Heartbeat | null | 'unreadable', now: number, policy: OverflowPolicy): OverflowRuling {
  const verdict = judge(sip, heartbeatEvidence(heartbeat, now, policy.staleAfterMs));
  return { verdict, action: decideOverflow(verdict.kind, policy.mode), refusal: dissuasionResponse(policy.dissuasion, policy.ownerUri) };
}
