import type { Logger } from 'pino';
import type { ChannelGate } from '../core/channels';
import type { Clock } from '../core/clock';
import { createBridge, type Dialog, failureStatus, reply, type SipRequest, type SipResponse, type Srf } from './srf';

export type BridgeOutcome = 'bridged' | 'failed' | 'channels_full' | 'cancelled';

export interface BridgeDelegate {
  onCallCount(active: number): void;
  onSetup(seconds: number): void;
  onReferRefused(): void;
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
  constructor(
    private readonly srf: Srf,
    private readonly target: string,
    private readonly gate: ChannelGate,
    private readonly clock: Clock,
    private readonly delegate: BridgeDelegate,
  ) {}

  async bridge(req: SipRequest, res: SipResponse, log: Logger, isCancelled: () => boolean): Promise<BridgeOutcome> {
    if (!this.gate.tryAcquire()) {
      reply(res, 486, 'Busy Here', { Warning: '399 understudy "all licensed channels busy"' });
      log.warn({ channels: this.gate.inUse }, 'all licensed channels busy: 486 so the IPBX overflows');
      return 'channels_full';
    }
    this.delegate.onCallCount(this.gate.inUse);
    const started = this.clock.now();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.gate.release();
      this.delegate.onCallCount(this.gate.inUse);
    };
    try {
      const { uas, uac } = await createBridge(this.srf, req, res, this.target, {
        copyHeaders: COPIED_HEADERS,
        onSent: (cancel) => {
          // The CANCEL came between our check and the B-leg INVITE: drachtio-srf missed it.
          if (isCancelled()) cancel();
        },
      });
      this.delegate.onSetup((this.clock.now() - started) / 1000);
      pair(uas, uac, release, log, () => this.delegate.onReferRefused());
      log.info({ target: this.target }, 'call bridged to the local app');
      return 'bridged';
    } catch (err) {
      release();
      if (isCancelled()) {
        log.info('caller cancelled before the app answered');
        return 'cancelled';
      }
      this.delegate.onSetup((this.clock.now() - started) / 1000);
      const status = failureStatus(err);
      if (status === undefined) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'bridge to the local app failed');
        if (!res.finalResponseSent) reply(res, 500);
      } else {
        log.info({ status }, 'the local app refused the call; response relayed');
      }
      return 'failed';
    }
  }
}

function pair(uas: Dialog, uac: Dialog, onEnd: () => void, log: Logger, onRefer: () => void): void {
  let ended = false;
  // 'destroy' fires only for the side that hung up; the other leg gets its BYE here.
  const end = (other: Dialog, who: 'caller' | 'app') => () => {
    if (ended) return;
    ended = true;
    log.info({ by: who }, 'call ended');
    onEnd();
    other.destroy();
  };
  uas.on('destroy', end(uac, 'caller'));
  uac.on('destroy', end(uas, 'app'));
  for (const [from, to] of [
    [uas, uac],
    [uac, uas],
  ] as const) {
    // Hold, resume and codec changes: relay the re-INVITE's offer and return the answer.
    from.on('modify', (req, res) => {
      to.modify(req.body).then(
        (sdp) => res.send(200, { body: sdp }),
        (err: unknown) => reply(res, failureStatus(err) ?? 500),
      );
    });
    // No transfer is ever performed: the bridge reaches app.target and nothing else.
    from.on('refer', (_req, res) => {
      onRefer();
      log.warn('REFER inside a call refused');
      reply(res, 403, 'Forbidden', { Warning: '399 understudy "REFER is not allowed"' });
    });
  }
}
