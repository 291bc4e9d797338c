import type { Logger } from 'pino';
import type { Acl } from '../core/acl';
import type { DissuasionResponse } from '../core/dissuasion';
import { sheddingResponse } from '../core/overload';
import { checkOffer } from '../core/sdp-check';
import type { Bridge, BridgeOutcome } from './bridge';
import { header, onRequest, reply, type SipRequest, type SipResponse, type Srf } from './srf';

/** How an INVITE that reached a non-owner ended. A closed set: metrics label by it. */
export const OVERFLOW_OUTCOMES = ['dissuaded', 'taken_over', 'bridged', 'refused_untrusted', 'cancelled', 'error'] as const;
/** Why a request was refused before reaching the local application. A closed set: metrics label by it. */
export const REJECT_REASONS = ['untrusted', 'bad_sdp', 'channels_full', 'refer', 'overload', 'malformed', 'oversize'] as const;
export type OverflowOutcome = (typeof OVERFLOW_OUTCOMES)[number];
export type RejectReason = (typeof REJECT_REASONS)[number];

/** What to do with an overflow INVITE, once whoever handles overflow has decided. */
export type OverflowDecision =
  | { readonly kind: 'bridge'; readonly tookOver: boolean }
  | { readonly kind: 'refuse'; readonly response: DissuasionResponse }
  | { readonly kind: 'cancelled' };

/** Decides overflow INVITEs (overflow-handler.ts). */
export interface OverflowPort {
  handle(signal: AbortSignal, log: Logger): Promise<OverflowDecision>;
}

/** What the router asks of the rest of the agent; the agent implements it. */
export interface CallRouting {
  isOwner(): boolean;
  appHealthy(): boolean;
  /** A reason to shed load right now, or null. `bridging`: the INVITE is for a call the owner bridges at once. */
  overloaded(inFlightInvites: number, bridging: boolean): string | null;
}

export interface RouterDelegate {
  onRejected(reason: RejectReason): void;
  onOverflow(outcome: OverflowOutcome): void;
}

const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS';

/**
 * Well above a legitimate INVITE from an IPBX (1-3 KiB with its SDP); anything
 * larger is a probe or an attack and is not worth relaying to the app.
 * drachtio-server answers 400 itself to anything past about 8 KiB.
 */
export const MAX_INVITE_BYTES = 6 * 1024;

/** Structural problems that make an INVITE unusable, checked before any work is done for it. */
function malformedInvite(
  req: SipRequest,
): { status: number; phrase: string; warning: string; reason: 'malformed' | 'oversize' } | null {
  if (Buffer.byteLength(req.raw ?? '') > MAX_INVITE_BYTES) {
    return { status: 513, phrase: 'Message Too Large', warning: `request larger than ${MAX_INVITE_BYTES} bytes`, reason: 'oversize' };
  }
  if (!header(req, 'Contact')) return { status: 400, phrase: 'Missing Contact', warning: 'INVITE without Contact', reason: 'malformed' };
  return null;
}
const REFUSED_METHODS = ['register', 'subscribe', 'message', 'publish', 'notify', 'info', 'update'] as const;

/**
 * The SIP entry point: every request outside a dialog passes the source ACL,
 * then INVITEs are checked (load, SDP) and either bridged (owner) or treated as
 * overflow (non-owner).
 */
export function installRouter(
  srf: Srf,
  deps: {
    acl: Acl;
    bridge: Bridge;
    routing: CallRouting;
    overflow: OverflowPort;
    /** What a non-owner sheds overflow INVITEs with; null without a peer. */
    dissuasion: DissuasionResponse | null;
    log: Logger;
    delegate: RouterDelegate;
  },
): void {
  const { acl, bridge, routing, overflow, dissuasion, log, delegate } = deps;
  /** INVITEs admitted and not yet given a final response: the work the next INVITE would queue behind. */
  let inFlight = 0;

  const trusted = (req: SipRequest, res: SipResponse): boolean => {
    if (acl.allows(req.source_address)) return true;
    delegate.onRejected('untrusted');
    log.warn({ source: req.source_address, method: req.method }, 'SIP request from an untrusted source refused');
    reply(res, 403, 'Forbidden');
    return false;
  };

  onRequest(srf, 'options', (req, res) => {
    if (!trusted(req, res)) return;
    reply(res, routing.appHealthy() ? 200 : 503, undefined, { Allow: ALLOW, Accept: 'application/sdp' });
  });

  onRequest(srf, 'refer', (req, res) => {
    if (!trusted(req, res)) return;
    delegate.onRejected('refer');
    log.warn({ source: req.source_address }, 'REFER refused: transfers are never performed');
    reply(res, 403, 'Forbidden', { Warning: '399 understudy "REFER is not allowed"' });
  });

  for (const method of REFUSED_METHODS) {
    onRequest(srf, method, (req, res) => {
      if (!trusted(req, res)) return;
      reply(res, 405, 'Method Not Allowed', { Allow: ALLOW });
    });
  }

  onRequest(srf, 'invite', (req, res) => {
    void handleInvite(req, res).catch((err: unknown) => {
      log.error({ err: err instanceof Error ? err.stack : String(err) }, 'INVITE handling failed');
      delegate.onOverflow('error');
      if (!res.finalResponseSent) reply(res, 500);
    });
  });

  async function handleInvite(req: SipRequest, res: SipResponse): Promise<void> {
    const callLog = log.child({ callId: header(req, 'Call-ID') });
    const owner = routing.isOwner();
    if (!trusted(req, res)) {
      if (!owner) delegate.onOverflow('refused_untrusted');
      return;
    }
    const malformed = malformedInvite(req);
    if (malformed) {
      delegate.onRejected(malformed.reason);
      callLog.warn({ problem: malformed.warning }, `INVITE refused with ${malformed.status}`);
      reply(res, malformed.status, malformed.phrase, { Warning: `399 understudy "${malformed.warning}"` });
      return;
    }
    const overload = routing.overloaded(inFlight, owner);
    if (overload) {
      const { status, reason, headers } = sheddingResponse(owner, dissuasion);
      delegate.onRejected('overload');
      // Debug: at the knee this fires hundreds of times a second, and the counter carries the rate.
      callLog.debug({ reason: overload, status }, 'overloaded: INVITE shed');
      reply(res, status, reason, headers);
      return;
    }
    inFlight += 1;
    try {
      await admitted(req, res, owner, callLog);
    } finally {
      inFlight -= 1;
    }
  }

  async function admitted(req: SipRequest, res: SipResponse, owner: boolean, callLog: Logger): Promise<void> {
    let cancelled = false;
    req.on('cancel', () => (cancelled = true));
    const isCancelled = () => cancelled;
    if (owner) {
      await bridgeOffer(req, res, callLog, isCancelled);
      return;
    }
    // Only a verification can be stopped midway, and an owner's call runs none.
    const abort = new AbortController();
    req.on('cancel', () => abort.abort());
    // The offer is looked at only once the call is to be bridged: a call refused here goes back
    // to the IPBX whatever it carries, and its refusal is the path that must stay cheap.
    const decision = await overflow.handle(abort.signal, callLog);
    if (decision.kind === 'cancelled' || cancelled) {
      // drachtio-server already answered the CANCEL and sent 487: no final response from us.
      delegate.onOverflow('cancelled');
      return;
    }
    if (decision.kind === 'refuse') {
      const { status, reason, headers } = decision.response;
      delegate.onOverflow('dissuaded');
      reply(res, status, reason, headers);
      return;
    }
    const outcome = await bridgeOffer(req, res, callLog, isCancelled);
    delegate.onOverflow(outcome === 'bridged' ? (decision.tookOver ? 'taken_over' : 'bridged') : outcome === 'cancelled' ? 'cancelled' : 'error');
  }

  /** Bridges a call to the app once its offer is one the app can answer; 488 otherwise. */
  async function bridgeOffer(req: SipRequest, res: SipResponse, callLog: Logger, isCancelled: () => boolean): Promise<BridgeOutcome | 'bad_sdp'> {
    const sdp = checkOffer(header(req, 'Content-Type'), req.body);
    if (!sdp.ok) {
      delegate.onRejected('bad_sdp');
      callLog.warn({ reason: sdp.reason }, 'INVITE refused with 488');
      reply(res, 488, 'Not Acceptable Here', { Warning: `399 understudy "${sdp.reason.replace(/"/g, "'")}"` });
      return 'bad_sdp';
    }
    const outcome = await bridge.bridge(req, res, callLog, isCancelled);
    if (outcome === 'channels_full') delegate.onRejected('channels_full');
    return outcome;
  }
}
