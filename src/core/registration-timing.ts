/**
 * When to refresh a registration and how to read a registrar's answer.
 */

/**
 * Refresh before the granted expiry: half-way for short grants, 30 s before the
 * end for long ones, so one lost REGISTER can be retried before the binding lapses.
 */
export function refreshDelayMs(grantedSec: number): number {
  const granted = Math.max(1, grantedSec) * 1000;
  return granted <= 60_000 ? granted / 2 : granted - 30_000;
}

/** Back-off after consecutive failures: 1 s, 2 s, 4 s… capped. */
export function retryDelayMs(failures: number, capMs = 30_000): number {
  return Math.min(capMs, 1000 * 2 ** Math.max(0, failures - 1));
}

export type RegisterOutcome =
  | { readonly kind: 'registered'; readonly grantedSec: number }
  | { readonly kind: 'retry-with-expires'; readonly expires: number }
  | { readonly kind: 'refused'; readonly status: number; readonly reason: string };

/**
 * Reads a final response to a REGISTER.
 * The granted lifetime is the `expires` parameter of our own binding in the
 * 200's Contact list, else its Expires header, else what we asked for (RFC 3261 §10.2.4).
 */
export function interpretRegisterResponse(
  res: { readonly status: number; readonly reason: string; readonly contact?: string; readonly expires?: string; readonly minExpires?: string },
  request: { readonly contact: string; readonly expires: number },
): RegisterOutcome {
  if (res.status >= 200 && res.status < 300) {
    const granted = contactExpires(res.contact, request.contact) ?? parseSeconds(res.expires) ?? request.expires;
    return { kind: 'registered', grantedSec: granted };
  }
  if (res.status === 423) {
    const min = parseSeconds(res.minExpires);
    // Without a usable Min-Expires, retrying would be refused again the same way.
    if (min !== undefined && min > request.expires) return { kind: 'retry-with-expires', expires: min };
  }
  return { kind: 'refused', status: res.status, reason: res.reason };
}

function parseSeconds(v: string | undefined): number | undefined {
  if (v === undefined || !/^\s*\d+\s*$/.test(v)) return undefined;
  return Number(v);
}

/**
 * When a binding the registrar granted for `grantedSec` lapses there. Counted
 * from when the REGISTER was sent, never later than when the registrar started
 * its own count, so the binding is never believed alive after the registrar dropped it.
 */
export function bindingExpiresAt(sentAt: number, grantedSec: number): number {
  return sentAt + grantedSec * 1000;
}

/**
 * The other live contacts a 2xx to our REGISTER says hold the AOR (RFC 3261
 * §10.3 step 8: the 200 lists every current binding). Only when our own
 * binding is in that list: a registrar that rewrites contacts (NAT) or lists
 * only the one just registered gives no list to compare against, and reading
 * our rewritten contact as someone else's would make us step down for nothing.
 */
export function foreignBindings(contactHeader: string | undefined, ours: string): string[] {
  const listed = parseBindings(contactHeader);
  if (!listed.some((b) => sameContact(b.uri, ours))) return [];
  return listed.filter((b) => !sameContact(b.uri, ours) && b.expires !== 0).map((b) => b.uri);
}

/** One binding listed in a registrar's Contact header. */
export interface Binding {
  readonly uri: string;
  readonly expires?: number;
}

/** Reads a Contact header value into its bindings (quoted display names and parameters allowed). */
export function parseBindings(contactHeader: string | undefined): Binding[] {
  if (!contactHeader) return [];
  return splitContacts(contactHeader).flatMap((entry): Binding[] => {
    // A quoted display name may hold '<', '>', ',' and escaped quotes: drop it before looking for the URI.
    const rest = entry.trim().replace(/^"(?:[^"\\]|\\.)*"\s*/, '');
    const m = /^[^<]*<([^>]+)>(.*)$/.exec(rest) ?? /^([^;]+)(.*)$/.exec(rest);
    if (!m?.[1] || m[1].trim() === '*') return [];
    const p = /;\s*expires\s*=\s*(\d+)/i.exec(m[2] ?? '');
    return [p?.[1] ? { uri: m[1].trim(), expires: Number(p[1]) } : { uri: m[1].trim() }];
  });
}

/** Whether two contact URIs name the same binding: scheme, user, host and port; parameters ignored. */
export function sameContact(a: string, b: string): boolean {
  return normaliseUri(a) === normaliseUri(b);
}

/** Finds `;expires=N` on the Contact entry whose URI is ours. */
function contactExpires(contactHeader: string | undefined, ours: string): number | undefined {
  return parseBindings(contactHeader).find((b) => sameContact(b.uri, ours) && b.expires !== undefined)?.expires;
}

/** Splits on commas outside <…> and quoted strings (with backslash escapes). */
function splitContacts(header: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let escaped = false;
  let cur = '';
  for (const ch of header) {
    if (escaped) escaped = false;
    else if (quoted && ch === '\\') escaped = true;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') depth++;
    else if (!quoted && ch === '>') depth--;
    if (ch === ',' && depth === 0 && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

/** Compares scheme, user, host and port; URI parameters are ignored. */
function normaliseUri(uri: string): string {
  return uri.trim().replace(/^<|>$/g, '').split(';')[0]!.toLowerCase();
}
