import type { Logger } from 'pino';
import type { Acl } from '../core/acl';
import { checkOffer } from '../core/sdp-check';
import type { OverflowDecision } from '../overflow-handler';
import type { OverflowOutcome, RejectReason } from '../metrics';
import type { Bridge } from './bridge';
import { header, onRequest, reply, type SipRequest, type SipResponse, type Srf } from './srf';

/** What the router asks of the rest of the agent; the agent implements it. */
export interface CallRouting {
  isOwner(): boolean;
  appHealthy(): boolean;
  /** A reason to shed load right now, or null. */
  overloaded(): string | null;
  overflow(signal: AbortSignal, log: Logger): Promise<OverflowDecision>;
}

export interface RouterObserver {
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
export function installRouter(srf: Srf, deps: { acl: Acl; bridge: Bridge; routing: CallRouting; log: Logger; observer: RouterObserver }): void {
  const { acl, bridge, routing, log, observer } = deps;

  const trusted = (req: SipRequest, res: SipResponse): boolean => {
    if (acl.allows(req.source_address)) return true;
    observer.onRejected('untrusted');
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
    observer.onRejected('refer');
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
      observer.onOverflow('error');
      if (!res.finalResponseSent) reply(res, 500);
    });
  });

  async function handleInvite(req: SipRequest, res: SipResponse): Promise<void> {
    const callLog = log.child({ callId: header(req, 'Call-ID') });
    const owner = routing.isOwner();
    if (!trusted(req, res)) {
      if (!owner) observer.onOverflow('refused_untrusted');
      return;
    }
    const malformed = malformedInvite(req);
    if (malformed) {
      observer.onRejected(malformed.reason);
      callLog.warn({ problem: malformed.warning }, `INVITE refused with ${malformed.status}`);
      reply(res, malformed.status, malformed.phrase, { Warning: `399 understudy "${malformed.warning}"` });
      return;
    }
    const overload = routing.overloaded();
    if (overload) {
      observer.onRejected('overload');
      callLog.warn({ reason: overload }, 'overloaded: INVITE refused with 503');
      reply(res, 503, 'Service Unavailable', { Warning: '399 understudy "overloaded"' });
      return;
    }
    const sdp = checkOffer(header(req, 'Content-Type'), req.body);
    if (!sdp.ok) {
      observer.onRejected('bad_sdp');
      callLog.warn({ reason: sdp.reason }, 'INVITE refused with 488');
      reply(res, 488, 'Not Acceptable Here', { Warning: `399 understudy "${sdp.reason.replace(/"/g, "'")}"` });
      return;
    }
    let cancelled = false;
    const abort = new AbortController();
    req.on('cancel', () => {
      cancelled = true;
      abort.abort();
    });
    const isCancelled = () => cancelled;
    if (owner) {
      const outcome = await bridge.bridge(req, res, callLog, isCancelled);
      if (outcome === 'channels_full') observer.onRejected('channels_full');
      return;
    }
    const decision = await routing.overflow(abort.signal, callLog);
    if (decision.kind === 'cancelled' || cancelled) {
      // drachtio-server already answered the CANCEL and sent 487: no final response from us.
      observer.onOverflow('cancelled');
      return;
    }
    if (decision.kind === 'refuse') {
      const { status, reason, headers } = decision.response;
      observer.onOverflow('dissuaded');
      reply(res, status, reason, headers);
      return;
    }
    const outcome = await bridge.bridge(req, res, callLog, isCancelled);
    observer.onOverflow(outcome === 'bridged' ? (decision.tookOver ? 'taken_over' : 'bridged') : outcome === 'cancelled' ? 'cancelled' : 'error');
  }
}
