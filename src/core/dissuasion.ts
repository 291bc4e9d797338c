/** The final response that sends an overflow call back to the owner. */
export interface DissuasionResponse {
  readonly status: number;
  readonly reason?: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * 302 points the IPBX at the owner's contact. 503 goes without Retry-After on
 * purpose: with one, RFC 3261 §21.5.4 lets the IPBX treat this node as out of
 * service for that long, and it must stay available for the next overflow.
 */
export function dissuasionResponse(cfg: { readonly status: number; readonly reason?: string }, ownerUri: string): DissuasionResponse {
  const headers: Record<string, string> = cfg.status === 302 ? { Contact: `<${ownerUri}>` } : {};
  return cfg.reason === undefined ? { status: cfg.status, headers } : { status: cfg.status, reason: cfg.reason, headers };
}
