import pino, { type DestinationStream, type Logger } from 'pino';

const CENSOR = '[redacted]';
/** Field names whose value is a credential wherever they sit; headers objects included (`headers.authorization`). */
const SECRET_FIELDS = ['password', 'sentinelPassword', 'token', 'secret', 'auth', 'authorization', 'Authorization', 'proxy-authorization', 'Proxy-Authorization'];
/** Objects logged here are shallow (a config section, a SIP request's headers); four levels cover them. */
const DEPTH = 4;
/**
 * A credential inside a string (an error quoting a SIP request), as it appears
 * in a JSON line: the header's value runs to the end of the string (an
 * unescaped quote) or of the SIP line (an escaped CR or LF). The scheme stays.
 */
const AUTH_HEADER = /((?:proxy-)?authorization:\s*(?:digest|bearer|basic)\b)(?:[^"\\]|\\[^rn])*/gi;
/** A digest answer without its header name (JSON-escaped quotes or not). */
const DIGEST_RESPONSE = /\bresponse=\\?"[^"\\]*\\?"/gi;

function redactPaths(): string[] {
  const field = (name: string) => (/^\w+$/.test(name) ? name : `["${name}"]`);
  const joined = (prefix: string, name: string) => (field(name).startsWith('[') ? `${prefix}${field(name)}` : `${prefix}.${field(name)}`);
  return SECRET_FIELDS.flatMap((name) =>
    Array.from({ length: DEPTH }, (_, depth) => (depth === 0 ? field(name) : joined(Array(depth).fill('*').join('.'), name))),
  );
}

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
 * JSON lines on stdout; secrets never reach the log whatever the call site
 * passes: credential fields are redacted by name at any depth up to DEPTH, and
 * the configured secret values and SIP credentials are scrubbed from the text.
 */
export function createLogger(
  level: string,
  base: Record<string, unknown>,
  opts: { secrets?: readonly string[]; destination?: DestinationStream } = {},
): Logger {
  const options = {
    level,
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths(), censor: CENSOR },
    hooks: { streamWrite: scrubber(opts.secrets ?? []) },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
