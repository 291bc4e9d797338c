import t from 'tap';
import { checkOffer, type SdpCheck } from '../../src/core/sdp-check';

const SDP = 'application/sdp';

const V = 'v=0';
const O = 'o=- 20518 0 IN IP4 192.0.2.10';
const S = 's=-';
const C = 'c=IN IP4 192.0.2.10';
const T = 't=0 0';
const AUDIO = 'm=audio 49170 RTP/AVP 0 101';
const PCMU = ['a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv'];

/** Joins SDP lines with LF or CRLF, with the usual trailing line break. */
function sdp(lines: readonly string[], eol = '\r\n'): string {
  return lines.join(eol) + eol;
}

const pcmuOffer = [V, O, S, C, T, AUDIO, ...PCMU];

/** The reason of a refusal; null for an accepted offer, which then fails any t.match on it. */
function reasonOf(result: SdpCheck): string | null {
  return result.ok ? null : result.reason;
}

t.test('a plain PCMU offer is accepted, with CRLF or LF line endings', async (t) => {
  t.strictSame(checkOffer(SDP, sdp(pcmuOffer, '\r\n')), { ok: true });
  t.strictSame(checkOffer(SDP, sdp(pcmuOffer, '\n')), { ok: true });
  t.strictSame(checkOffer(SDP, pcmuOffer.join('\r\n')), { ok: true }, 'no trailing line break');
});

t.test('content type: application/sdp in any case, with parameters', async (t) => {
  for (const ct of ['application/sdp', 'Application/SDP', ' application/sdp ', 'application/sdp; charset=utf-8', 'application/sdp;version=2']) {
    t.strictSame(checkOffer(ct, sdp(pcmuOffer)), { ok: true }, JSON.stringify(ct));
  }
});

t.test('a missing or blank body is a delayed offer, refused', async (t) => {
  for (const body of [undefined, '', '   \r\n\r\n']) t.match(reasonOf(checkOffer(SDP, body)), /no SDP offer/, JSON.stringify(body));
  t.match(reasonOf(checkOffer(undefined, undefined)), /no SDP offer/, 'neither body nor type');
});

t.test('a body of another type is refused, naming the type', async (t) => {
  t.match(reasonOf(checkOffer('text/plain', sdp(pcmuOffer))), /unsupported body type text\/plain/, 'text/plain');
  t.match(reasonOf(checkOffer('application/sdpx', sdp(pcmuOffer))), /unsupported body type/, 'a longer subtype');
  t.match(reasonOf(checkOffer('multipart/mixed;boundary=x', sdp(pcmuOffer))), /unsupported body type/, 'multipart');
  t.match(reasonOf(checkOffer(undefined, sdp(pcmuOffer))), /unsupported body type \(none\)/, 'no Content-Type');
});

t.test('a line that is not type=value is refused, quoting it', async (t) => {
  t.match(reasonOf(checkOffer(SDP, sdp([V, O, S, 'hello world', C, T, AUDIO]))), /malformed SDP line "hello world"/, 'free text');
  t.match(reasonOf(checkOffer(SDP, sdp([V, O, S, C, T, AUDIO, 'A=rtpmap:0 PCMU/8000']))), /malformed/, 'upper-case type');
  t.match(reasonOf(checkOffer(SDP, sdp([V, O, S, C, T, ' m=audio 49170 RTP/AVP 0']))), /malformed/, 'leading space');
  t.match(reasonOf(checkOffer(SDP, '\u0000\u0001garbage\r\n')), /malformed/, 'binary garbage');
  const long = `x${'y'.repeat(200)}`;
  const reason = reasonOf(checkOffer(SDP, sdp([V, long])));
  t.match(reason, /malformed/, 'long line');
  t.ok(reason !== null && reason.length < 100, 'a long line is truncated in the reason');
});

t.test('the first line must be v=0', async (t) => {
  t.match(reasonOf(checkOffer(SDP, sdp([O, V, S, C, T, AUDIO, ...PCMU]))), /must start with v=0/, 'v=0 second');
  t.match(reasonOf(checkOffer(SDP, sdp([O, S, C, T, AUDIO, ...PCMU]))), /must start with v=0/, 'no v= at all');
  t.match(reasonOf(checkOffer(SDP, sdp(['v=1', O, S, C, T, AUDIO, ...PCMU]))), /must start with v=0/, 'v=1');
});

t.test('an offer without a usable o= line is refused', async (t) => {
  t.match(reasonOf(checkOffer(SDP, sdp([V, S, C, T, AUDIO, ...PCMU]))), /no o= line/, 'missing');
  t.match(reasonOf(checkOffer(SDP, sdp([V, 'o=garbage', S, C, T, AUDIO, ...PCMU]))), /no o= line/, 'unparsable');
});

t.test('an m=audio line with a non-numeric or missing port is refused', async (t) => {
  for (const m of ['m=audio abc RTP/AVP 0', 'm=audio -1 RTP/AVP 0', 'm=audio  RTP/AVP 0']) {
    t.match(reasonOf(checkOffer(SDP, sdp([V, O, S, C, T, m, ...PCMU]))), /no usable audio/, m);
  }
});

t.test('audio on port 0 only is refused', async (t) => {
  t.match(reasonOf(checkOffer(SDP, sdp([V, O, S, C, T, 'm=audio 0 RTP/AVP 0']))), /no usable audio/, 'port 0');
});

t.test('a second audio stream on a real port makes up for one on port 0', async (t) => {
  t.strictSame(checkOffer(SDP, sdp([V, O, S, C, T, 'm=audio 0 RTP/AVP 0', AUDIO, ...PCMU])), { ok: true });
});

t.test('video only is refused; video beside audio is fine', async (t) => {
  const video = 'm=video 51372 RTP/AVP 96';
  t.match(reasonOf(checkOffer(SDP, sdp([V, O, S, C, T, video, 'a=rtpmap:96 H264/90000']))), /no usable audio/, 'video only');
  t.strictSame(checkOffer(SDP, sdp([V, O, S, C, T, video, 'a=rtpmap:96 H264/90000', AUDIO, ...PCMU])), { ok: true });
});

t.test('no m= line at all is refused', async (t) => {
  t.match(reasonOf(checkOffer(SDP, sdp([V, O, S, C, T]))), /no usable audio/, 'session only');
});

t.test('audio without a payload type is refused', async (t) => {
  t.match(reasonOf(checkOffer(SDP, sdp([V, O, S, C, T, 'm=audio 49170 RTP/AVP']))), /no payload type or no connection address/, 'no payloads');
});

t.test('the connection address may be at session or media level, but must exist', async (t) => {
  t.match(reasonOf(checkOffer(SDP, sdp([V, O, S, T, AUDIO, ...PCMU]))), /no connection address/, 'no c= anywhere');
  t.match(reasonOf(checkOffer(SDP, sdp([V, O, S, 'c=IN IP4', T, AUDIO, ...PCMU]))), /no connection address/, 'c= without address');
  t.strictSame(checkOffer(SDP, sdp([V, O, S, T, AUDIO, C, ...PCMU])), { ok: true }, 'media-level c= only');
  t.strictSame(checkOffer(SDP, sdp([V, O, S, 'c=IN IP6 2001:db8::1', T, AUDIO, ...PCMU])), { ok: true }, 'IPv6');
});

t.test('a media-level c= of another stream does not serve the audio stream', async (t) => {
  const video = ['m=video 51372 RTP/AVP 96', 'c=IN IP4 192.0.2.20'];
  t.match(reasonOf(checkOffer(SDP, sdp([V, O, S, T, ...video, AUDIO, ...PCMU]))), /no connection address/, 'c= under video only');
});
