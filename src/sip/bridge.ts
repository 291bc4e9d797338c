import type { Logger } from 'pino';
import type { ChannelGate } from '../core/channels';
import { type Clock, type TimerHandle, withTimeout } from '../core/clock';
import {
  createBridge,
  type Dialog,
  failureStatus,
  forwardInDialog,
  hangUp,
  hasEnded,
  onConnectionEvent,
  onNextAck,
  reinviteWithoutOffer,
  reply,
  sendRelayed,
  type SipRequest,
  type SipResponse,
  type Srf,
} from './srf';

export type BridgeOutcome = 'bridged' | 'failed' | 'channels_full' | 'cancelled';

export interface BridgeDelegate {
  onCallCount(active: number): void;
  onSetup(seconds: number): void;
  onReferRefused(): void;
  /** The B leg failed at transport level (no answer, or a 408/503 the stack generated): the app may be down. */
  onAppUnreachable(): void;
}

/** drachtio-server's own answers when the app's address does not answer (Timer B) or refuses packets (ICMP). */
const TRANSPORT_FAILURES: ReadonlySet<number> = new Set([408, 503]);

export interface BridgeSettings {
  /** The only destination calls are ever bridged to. */
  readonly target: string;
  /** How long the app may take to answer before the caller gets 480 and the channel is freed. */
  readonly answerTimeoutMs: number;
  /** Calls longer than this are hung up on both legs; 0: no limit. */
  readonly maxCallDurationMs: number;
  /** How long a leg has to answer a relayed in-dialog request before its sender gets 408. */
  readonly inDialogTimeoutMs: number;
}

/** Headers worth keeping on the way to the app; nothing here can choose a destination. */
const COPIED_HEADERS = ['Subject', 'Priority', 'P-Asserted-Identity', 'Diversion', 'History-Info'] as const;

/**
 * Bridges an INVITE to the local application, and only there: the target comes
 * from the config, never from the Request-URI or any header, so the bridge cannot
 * be used to reach another destination (toll fraud).
 * The two legs live and die together: whichever side hangs up, the other gets BYE.
 */
export class Bridge {
  /** Calls holding a channel, each with how to let it go without a word on the wire. */
  private readonly live = new Map<object, () => void>();

  constructor(
    private readonly srf: Srf,
    private readonly settings: BridgeSettings,
    private readonly gate: ChannelGate,
    private readonly clock: Clock,
    private readonly delegate: BridgeDelegate,
  ) {
    // Every dialog lives on the connection that carried its INVITE. Once it closes,
    // no BYE for them reaches us, nor can ours leave (a restarted drachtio-server
    // no longer knows them): their channels are freed now, not at maxCallDurationMs.
    onConnectionEvent(srf, 'close', () => {
      for (const forget of [...this.live.values()]) forget();
    });
  }

  async bridge(req: SipRequest, res: SipResponse, log: Logger, isCancelled: () => boolean): Promise<BridgeOutcome> {
    if (!this.gate.tryAcquire()) {
      reply(res, 486, 'Busy Here', { Warning: '399 understudy "all licensed channels busy"' });
      log.warn({ channels: this.gate.inUse }, 'all licensed channels busy: 486 so the IPBX overflows');
      return 'channels_full';
    }
    this.delegate.onCallCount(this.gate.inUse);
    const started = this.clock.now();
    const call = {};
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.live.delete(call);
      this.gate.release();
      this.delegate.onCallCount(this.gate.inUse);
    };
    let answerTimer: TimerHandle | undefined;
    let unanswered = false;
    this.live.set(call, () => {
      if (answerTimer) this.clock.clearTimer(answerTimer);
      log.warn('connection to drachtio-server lost while the call was set up: channel freed');
      release();
    });
    try {
      const { uas, uac } = await createBridge(this.srf, req, res, this.settings.target, {
        copyHeaders: COPIED_HEADERS,
        onSent: (cancel) => {
          // The CANCEL came between our check and the B-leg INVITE: drachtio-srf missed it.
          if (isCancelled()) return cancel();
          answerTimer = this.clock.setTimer(this.settings.answerTimeoutMs, () => {
            if (isCancelled() || res.finalResponseSent) return;
            unanswered = true;
            // Our final response goes first, so drachtio-srf relays nothing of the CANCEL's 487.
            reply(res, 480, 'Temporarily Unavailable', { Warning: '399 understudy "the local app did not answer"' });
            cancel();
          });
        },
      });
      const setupMs = this.clock.now() - started;
      this.delegate.onSetup(setupMs / 1000);
      const forget = joinLegs(uas, uac, { ...this.settings, clock: this.clock, log, setupMs, onEnd: release, onRefer: () => this.delegate.onReferRefused() });
      if (!released) this.live.set(call, forget);
      // Debug: the call's one info line is its end, which says all this line would.
      log.debug({ target: this.settings.target }, 'call bridged to the local app');
      return 'bridged';
    } catch (err) {
      release();
      if (isCancelled()) {
        log.info('caller cancelled before the app answered');
        return 'cancelled';
      }
      this.delegate.onSetup((this.clock.now() - started) / 1000);
      if (unanswered) {
        log.warn({ answerTimeoutMs: this.settings.answerTimeoutMs }, 'the local app did not answer in time: 480 to the caller, INVITE cancelled');
        return 'failed';
      }
      const status = failureStatus(err);
      // An app's own 503 counts too: the health check that follows tells them apart.
      if (status === undefined || TRANSPORT_FAILURES.has(status)) this.delegate.onAppUnreachable();
      if (status === undefined) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'bridge to the local app failed');
        if (!res.finalResponseSent) reply(res, 500);
      } else {
        log.info({ status }, 'the local app refused the call; response relayed');
      }
      return 'failed';
    } finally {
      if (answerTimer) this.clock.clearTimer(answerTimer);
    }
  }
}

export interface LegContext {
  readonly clock: Clock;
  readonly log: Logger;
  readonly maxCallDurationMs: number;
  readonly inDialogTimeoutMs: number;
  /** From the INVITE to the app's answer, for the call's last log line. */
  readonly setupMs: number;
  /** Called once, when the call is over on our side (its channel is free). */
  onEnd(): void;
  onRefer(): void;
}

type Party = 'caller' | 'app';

/**
 * Pairs the caller's leg (uas) with the app's (uac): a hang-up on one sends BYE
 * on the other, in-dialog requests are relayed, and the call ends after
 * maxCallDurationMs. drachtio-srf's `destroy` event fires only for the side that
 * hung up, and dialog.destroy() removes the listeners, so the pairing is ours.
 * Returns how to end the call without signalling (its dialogs are gone with the connection).
 */
export function joinLegs(uas: Dialog, uac: Dialog, ctx: LegContext): () => void {
  const { clock, log } = ctx;
  const legs: Record<Party, Dialog> = { caller: uas, app: uac };
  let ended = false;
  let limit: TimerHandle | undefined;
  const answeredAt = clock.now();

  const bye = (party: Party): Promise<void> =>
    // Rejects when that side hung up at the same moment: drachtio-server no longer knows the dialog.
    hangUp(legs[party]).catch((err: unknown) =>
      log.info({ leg: party, err: err instanceof Error ? err.message : String(err) }, 'BYE not sent: that leg had already ended'),
    );
  const end = (by: Party | 'max_duration' | 'connection_lost', toHangUp: readonly Party[]): void => {
    if (ended) return;
    ended = true;
    if (limit) clock.clearTimer(limit);
    log.info({ by, setupMs: ctx.setupMs, durationMs: clock.now() - answeredAt }, 'call ended');
    ctx.onEnd();
    for (const party of toHangUp) void bye(party);
  };

  uas.on('destroy', () => end('caller', ['app']));
  uac.on('destroy', () => end('app', ['caller']));
  if (ctx.maxCallDurationMs > 0) {
    limit = clock.setTimer(ctx.maxCallDurationMs, () => {
      log.warn({ maxCallDurationMs: ctx.maxCallDurationMs }, 'call reached its maximum duration: both legs hung up');
      end('max_duration', ['caller', 'app']);
    });
  }

  for (const [fromParty, toParty] of [
    ['caller', 'app'],
    ['app', 'caller'],
  ] as const) {
    const from = legs[fromParty];
    const to = legs[toParty];
    const failed = (method: string) => (err: unknown) =>
      log.error({ method, from: fromParty, err: err instanceof Error ? err.message : String(err) }, 'relaying an in-dialog request failed');
    // Hold, resume and codec changes: relay the re-INVITE's offer (or its lack of one) and return the answer.
    from.on('modify', (req, res) => void relayReinvite(from, to, req, res, ctx).catch(failed('INVITE')));
    // DTMF as SIP INFO and session updates reach the other side, and its answer comes back.
    from.on('info', (req, res) => void relayRequest(to, 'INFO', req, res, ctx).catch(failed('INFO')));
    from.on('update', (req, res) => void relayRequest(to, 'UPDATE', req, res, ctx).catch(failed('UPDATE')));
    // No transfer is ever performed: the bridge reaches app.target and nothing else.
    from.on('refer', (_req, res) => {
      ctx.onRefer();
      log.warn('REFER inside a call refused');
      reply(res, 403, 'Forbidden', { Warning: '399 understudy "REFER is not allowed"' });
    });
  }

  if (hasEnded(uas)) end('caller', ['app']);
  else if (hasEnded(uac)) end('app', ['caller']);
  return () => end('connection_lost', []);
}

/** The far leg's answer, or null when it did not come within inDialogTimeoutMs. */
function bounded<T>(ctx: LegContext, p: Promise<T>): Promise<T | null> {
  return withTimeout<T | null>(ctx.clock, p, ctx.inDialogTimeoutMs, () => null);
}

function timedOut(res: SipResponse): void {
  reply(res, 408, 'Request Timeout', { Warning: '399 understudy "the other side of the call did not answer"' });
}

async function relayRequest(to: Dialog, method: 'INFO' | 'UPDATE', req: SipRequest, res: SipResponse, ctx: LegContext): Promise<void> {
  try {
    const answer = await bounded(ctx, forwardInDialog(to, method, req));
    if (answer) sendRelayed(res, answer);
    else timedOut(res);
  } catch (err) {
    reply(res, failureStatus(err) ?? 500);
  }
}

async function relayReinvite(from: Dialog, to: Dialog, req: SipRequest, res: SipResponse, ctx: LegContext): Promise<void> {
  try {
    if (req.body) {
      const answer = await bounded(ctx, to.modify(req.body));
      if (answer === null) return timedOut(res);
      res.send(200, { body: answer, headers: { 'Content-Type': 'application/sdp' } });
      return;
    }
    // Late offer: the other leg offers in its 200, and the answer to it comes in our requester's ACK.
    const offer = await bounded(ctx, reinviteWithoutOffer(to));
    if (offer === null) return timedOut(res);
    onNextAck(from, (answer) => offer.ack(answer));
    res.send(200, { body: offer.sdp, headers: { 'Content-Type': 'application/sdp' } });
  } catch (err) {
    reply(res, failureStatus(err) ?? 500);
  }
}
