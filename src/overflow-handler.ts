import type { Logger } from 'pino';
import { dissuasionResponse, type DissuasionResponse } from './core/dissuasion';
import { decideOverflow } from './core/overflow';
import type { Mode, Verdict } from './core/types';
import type { Verifier } from './core/verification';
import type { ChangeResult } from './failover';

export type OverflowDecision =
  | { readonly kind: 'bridge'; readonly tookOver: boolean }
  | { readonly kind: 'refuse'; readonly response: DissuasionResponse }
  | { readonly kind: 'cancelled' };

/** What this file needs of the ownership logic (failover.ts). */
export interface OwnerJudge {
  judgeOwner(sip: Verdict['sip']): Promise<Verdict>;
  takeOver(evidence: Verdict): Promise<ChangeResult>;
  isOwner(): boolean;
}

export interface OverflowDelegate {
  onVerdict(verdict: Verdict): void;
  onBackupAlarm(): void;
}

/**
 * An INVITE reached a node that does not own the registration: the IPBX could
 * not place it with the owner. Verify the owner, then dissuade, take over or
 * raise the alarm, as the mode says.
 */
export class OverflowHandler {
  constructor(
    private readonly verifier: Verifier,
    private readonly judge: OwnerJudge,
    private readonly opts: { readonly mode: Mode; readonly dissuasion: { status: number; reason?: string }; readonly ownerUri: string },
    private readonly delegate: OverflowDelegate,
  ) {}

  async handle(signal: AbortSignal, log: Logger): Promise<OverflowDecision> {
    const result = await this.verifier.verify(signal);
    if (result.kind === 'cancelled') {
      log.info('caller cancelled during verification; work for this call stopped');
      return { kind: 'cancelled' };
    }
    // Another call's takeover may have completed while this one waited on the same cycle.
    if (this.judge.isOwner()) return { kind: 'bridge', tookOver: false };
    const verdict = await this.judge.judgeOwner(result.verdict);
    const action = decideOverflow(verdict.kind, this.opts.mode);
    log.info(
      {
        verdict: verdict.kind,
        heartbeat: verdict.heartbeat,
        probes: verdict.sip.probes,
        joined: result.joined,
        cached: result.cached,
        action: action.kind,
      },
      `overflow decision: owner ${verdict.kind}, ${action.kind}`,
    );
    // Count cycles, not calls: the calls that joined one share its verdict.
    if (!result.cached && !result.joined) this.delegate.onVerdict(verdict);
    if (signal.aborted) return { kind: 'cancelled' };
    switch (action.kind) {
      case 'dissuade':
        return this.refuse();
      case 'alarm':
        this.delegate.onBackupAlarm();
        log.error({ probes: verdict.sip.probes }, 'primary down, switchover needed');
        return this.refuse();
      case 'takeover': {
        const r = await this.judge.takeOver(verdict);
        if (r.ok) return { kind: 'bridge', tookOver: r.changed };
        log.error({ reason: r.message }, 'takeover failed; call dissuaded, node stays passive');
        return this.refuse();
      }
    }
  }

  private refuse(): OverflowDecision {
    return { kind: 'refuse', response: dissuasionResponse(this.opts.dissuasion, this.opts.ownerUri) };
  }
}
