import { parse } from 'sdp-transform';

export type SdpCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Accepts an offer only when it is well-formed and has audio the app can answer:
 * an `m=audio` line with a non-zero port, at least one payload type and a
 * connection address. Anything else gets 488 before the app ever sees it.
 * An INVITE without a body (delayed offer) is refused too: the bridge relays the
 * caller's offer to the app and has nothing to relay.
 */
export function checkOffer(contentType: string | undefined, body: string | undefined): SdpCheck {
  if (!body || body.trim() === '') return { ok: false, reason: 'no SDP offer (delayed offer is not supported)' };
  if (!contentType || !/^\s*application\/sdp\s*(;|$)/i.test(contentType)) {
    return { ok: false, reason: `unsupported body type ${contentType ?? '(none)'}` };
  }
  const lines = body.split(/\r?\n/).filter((l) => l.trim() !== '');
  const malformed = lines.find((l) => !/^[a-z]=/.test(l));
  if (malformed !== undefined) return { ok: false, reason: `malformed SDP line "${malformed.slice(0, 40)}"` };
  if (!lines[0]?.startsWith('v=0')) return { ok: false, reason: 'SDP must start with v=0' };
  let sdp: ReturnType<typeof parse>;
  try {
    sdp = parse(body);
  } catch (err) {
    return { ok: false, reason: `SDP does not parse: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!sdp.origin) return { ok: false, reason: 'SDP has no o= line' };
  const mLines = lines.filter((l) => l.startsWith('m=')).length;
  if (sdp.media.length !== mLines) return { ok: false, reason: 'SDP has an m= line that does not parse' };
  const audio = sdp.media.filter((m) => m.type === 'audio' && m.port > 0);
  if (audio.length === 0) return { ok: false, reason: 'SDP offers no usable audio stream' };
  const usable = audio.find((m) => String(m.payloads ?? '').trim() !== '' && (m.connection?.ip ?? sdp.connection?.ip));
  if (!usable) return { ok: false, reason: 'audio stream has no payload type or no connection address' };
  return { ok: true };
}
