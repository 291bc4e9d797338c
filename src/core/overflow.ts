import type { Mode, VerdictKind } from './types';

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
