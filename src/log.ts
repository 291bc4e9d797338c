import pino, { type DestinationStream, type Logger } from 'pino';

const CENSOR = '[redacted]';
/** Field names (any case) whose value is a credential wherever they sit; headers objects included (`headers.authorization`). */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['password', 'sentinelpassword', 'token', 'secret', 'auth', 'authorization', 'proxy-authorization']);
/** Objects logged here are shallow (a config section, a SIP request's headers); deeper levels are left as they are. */
const DEPTH = 4;

function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

/**
 * `value` with every credential field censored, copied only where one is found,
 * so a clean object costs one walk and no allocation. Plain objects and arrays
 * only: errors, buffers and class instances are pino's serializers' business.
 * (pino's own `redact` with wildcards at every depth costs ten times more per line.)
 */
function censorFields(value: unknown, depth: number): unknown {
  if (depth > DEPTH || typeof value !== 'object' || value === null || !isPlain(value)) return value;
  let copy: Record<string, unknown> | unknown[] | undefined;
  for (const [k, v] of Object.entries(value)) {
    const censored = SECRET_FIELDS.has(k.toLowerCase()) ? CENSOR : censorFields(v, depth + 1);
    if (censored === v) continue;
    copy ??= Array.isArray(value) ? [...(value as unknown[])] : { ...(value as Record<string, unknown>) };
    (copy as Record<string, unknown>)[k] = censored;
  }
  return copy ?? value;
}

/**
 * A credential inside a string (an error quoting a SIP request), as it appears
 * in a JSON line: the header's value runs to the end of the string (an
 * unescaped quote) or of the SIP line (an escaped CR or LF). The scheme stays.
 */
const AUTH_HEADER = /((?:proxy-)?authorization:\s*(?:digest|bearer|basic)\b)(?:[^"\\]|\\[^rn])*/gi;
/** A digest answer without its header name (JSON-escaped quotes or not). */
const DIGEST_RESPONSE = /\bresponse=\\?"[^"\\]*\\?"/gi;

/** How each configured secret appears in a JSON line: JSON-escaped, as pino writes strings. */
function jsonForms(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((s) => s !== '').map((s) => JSON.stringify(s).slice(1, -1)))];
}

/**
 * Runs on every written line: cheap when clean (one `includes` per secret and
 * one regex test), and it catches what field redaction cannot, a secret quoted
 * inside a message or an error string.
 */
export function scrubber(secrets: readonly string[]): (line: string) => string {
  const needles = jsonForms(secrets);
  return (line) => {
    let out = line;
    for (const n of needles) if (out.includes(n)) out = out.split(n).join(CENSOR);
    if (/authorization|response=/i.test(out)) out = out.replace(AUTH_HEADER, `$1 ${CENSOR}`).replace(DIGEST_RESPONSE, `response=${CENSOR}`);
    return out;
  };
}

/**
 * stdout is written in batches of at least 4 KiB, or every `flushMs` when quieter.
 * A line per call at hundreds of calls a second made one write(2) each, which cost
 * the bridged path a measurable share of its CPU (README "Benchmark"). pino writes
 * what is buffered when the process exits, whatever the exit; only a SIGKILL loses
 * the last `flushMs` of lines. 0: each line written at once.
 */
export const LOG_FLUSH_MS = 100;
const LOG_BATCH_BYTES = 4096;

function stdout(flushMs: number): DestinationStream {
  return flushMs === 0 ? pino.destination({ dest: 1 }) : pino.destination({ dest: 1, minLength: LOG_BATCH_BYTES, periodicFlush: flushMs });
}

/**
 * JSON lines on stdout; secrets never reach the log whatever the call site
 * passes: credential fields are censored by name at any depth up to DEPTH, and
 * the configured secret values and SIP credentials are scrubbed from the text.
 */
export function createLogger(
  level: string,
  base: Record<string, unknown>,
  opts: { secrets?: readonly string[]; destination?: DestinationStream; flushMs?: number } = {},
): Logger {
  const options = {
    level,
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { log: (obj: Record<string, unknown>) => censorFields(obj, 0) as Record<string, unknown> },
    hooks: { streamWrite: scrubber(opts.secrets ?? []) },
  };
  return pino(options, opts.destination ?? stdout(opts.flushMs ?? LOG_FLUSH_MS));
}
