import pino, { type Logger } from 'pino';

/** JSON lines on stdout; secrets never reach the log whatever the call site passes. */
export function createLogger(level: string, base: Record<string, unknown>): Logger {
  return pino({
    level,
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret', 'auth'], censor: '[redacted]' },
  });
}
