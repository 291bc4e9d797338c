import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Proc, scratchDir, sleep, start } from './processes';

const SCENARIOS = resolve(__dirname, '../../sipp-scenarios');

export interface SippOptions {
  readonly scenario: string;
  /** Client mode when set: where to send, `ip:port`. */
  readonly remote?: string;
  readonly localIp: string;
  readonly localPort: number;
  /** -t: `u1` (UDP, the default) or `t1` (TCP, one socket). */
  readonly transport?: 'u1' | 't1';
  readonly keys?: Readonly<Record<string, string>>;
  /** -m: stop after this many calls (client) or handled messages (server). */
  readonly calls?: number;
  /** -r: calls per second. */
  readonly rate?: number;
  /** -d: length of the scenario's <pause/>. */
  readonly pauseMs?: number;
  /** -s: user part of the Request-URI the caller dials. */
  readonly service?: string;
  /** -timeout: SIPp stops itself after this long whatever happens. */
  readonly timeoutSec?: number;
  /** -recv_timeout: a call waiting longer than this for an expected message fails. */
  readonly recvTimeoutMs?: number;
  /**
   * `messages` (default): every message logged, for tests to read. `stats`:
   * SIPp's statistics and response-time files only; the message log costs
   * more than the calls at load rates.
   */
  readonly trace?: 'messages' | 'stats';
}

/** The end-of-run counters of a SIPp statistics file (-trace_stat). */
export interface SippStats {
  readonly successful: number;
  readonly failed: number;
  readonly retransmissions: number;
}

/** One SIP message from a SIPp message log. */
export interface LoggedMessage {
  readonly direction: 'sent' | 'received';
  /** When SIPp logged it, ms since the epoch. */
  readonly at: number;
  readonly firstLine: string;
  readonly raw: string;
  header(name: string): string | undefined;
  headers(name: string): string[];
}

export interface Sipp {
  readonly proc: Proc;
  messages(): LoggedMessage[];
  /** With trace `stats`: the counters of the last statistics line, null before there is one. */
  stats(): SippStats | null;
  /** With trace `stats`: each call's response time (ms) of the scenario's rtd. */
  responseTimes(): number[];
  /** Waits for SIPp to stop by itself; its exit code (0: every call succeeded). Stops it and throws after `timeoutMs`. */
  finished(timeoutMs: number): Promise<number | null>;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export function startSipp(o: SippOptions): Sipp {
  const dir = scratchDir('sipp');
  const messageFile = join(dir, 'messages.log');
  const statsFile = join(dir, 'stats.csv');
  const args = [
    ...(o.remote ? [o.remote] : []),
    '-sf', join(SCENARIOS, o.scenario),
    '-i', o.localIp,
    '-p', String(o.localPort),
    '-t', o.transport ?? 'u1',
    '-nostdin',
    ...(o.trace === 'stats'
      ? ['-trace_stat', '-stf', statsFile, '-fd', '1', '-trace_rtt', '-rtt_freq', '1']
      : ['-trace_msg', '-message_file', messageFile]),
    '-trace_err', '-error_file', join(dir, 'errors.log'),
    '-timeout', `${o.timeoutSec ?? 60}s`,
    ...(o.recvTimeoutMs !== undefined ? ['-recv_timeout', String(o.recvTimeoutMs)] : []),
    ...(o.calls !== undefined ? ['-m', String(o.calls)] : []),
    ...(o.rate !== undefined ? ['-r', String(o.rate)] : []),
    ...(o.pauseMs !== undefined ? ['-d', String(o.pauseMs)] : []),
    '-s', o.service ?? 'appsrv',
    ...Object.entries(o.keys ?? {}).flatMap(([k, v]) => ['-key', k, v]),
  ];
  const proc = start('sipp', args, { cwd: dir });
  return {
    proc,
    messages: () => (existsSync(messageFile) ? parseMessageLog(readFileSync(messageFile, 'utf8')) : []),
    stats: () => (existsSync(statsFile) ? parseStats(readFileSync(statsFile, 'utf8')) : null),
    responseTimes: () =>
      readdirSync(dir)
        .filter((f) => f.endsWith('_rtt.csv'))
        .flatMap((f) => parseResponseTimes(readFileSync(join(dir, f), 'utf8'))),
    finished: async (timeoutMs) => {
      const timer = sleep(timeoutMs).then(() => 'timeout' as const);
      const r = await Promise.race([proc.exited, timer]);
      if (r === 'timeout') {
        // An overrun SIPp would keep the test file alive and hold its port for the next test.
        await proc.stop();
        throw new Error(`sipp ${o.scenario} still running after ${timeoutMs} ms\n${proc.output().slice(-2000)}`);
      }
      return r;
    },
    pause: () => proc.signal('SIGSTOP'),
    resume: () => proc.signal('SIGCONT'),
    stop: () => proc.stop(),
  };
}

/** The last line of a SIPp statistics file, by column name (SIPp's `-h stat` lists them). */
function parseStats(text: string): SippStats | null {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const head = lines[0]?.split(';');
  const last = lines.length > 1 ? lines[lines.length - 1]?.split(';') : undefined;
  if (!head || !last) return null;
  const col = (name: string) => {
    const i = head.indexOf(name);
    if (i === -1) throw new Error(`SIPp statistics without a ${name} column`);
    return Number(last[i]);
  };
  return { successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'), retransmissions: col('Retransmissions(C)') };
}

/** SIPp's -trace_rtt file: `date_ms;date_sec;rtd_no;response_time_ms` after a header line. */
function parseResponseTimes(text: string): number[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const head = lines[0]?.split(';') ?? [];
  const i = head.findIndex((h) => /response_time/i.test(h));
  if (i === -1) return [];
  return lines.slice(1).map((l) => Number(l.split(';')[i])).filter((n) => Number.isFinite(n));
}

/** SIPp's "2026-11-22 11:53:39.669729" (local time) as fractional ms since the epoch. */
function stampMs(stamp: string): number {
  const m = /(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?/.exec(stamp);
  if (!m) return NaN;
  return Date.parse(`${m[1]}T${m[2]}`) + Number(m[3] ?? 0) * 1000;
}

/**
 * SIPp's -trace_msg log: blocks that start with a dashed time line, then
 * "UDP message received [N] bytes :" or "UDP message sent (N bytes):", then the message.
 */
export function parseMessageLog(text: string): LoggedMessage[] {
  const out: LoggedMessage[] = [];
  const parts = text.split(/^-{20,}\s*(.*)$/m);
  // split() with a capture group interleaves: [before, stamp1, block1, stamp2, block2, …]
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const at = stampMs(parts[i] ?? '');
    const block = parts[i + 1] ?? '';
    const m = /^\s*\S+ message (sent|received)[^\n]*\n\n?([\s\S]*)$/.exec(block);
    if (!m?.[2]?.trim()) continue;
    const raw = m[2].replace(/\r/g, '').trim();
    const lines = raw.split('\n');
    const headerLines = lines.slice(1, lines.indexOf('') === -1 ? undefined : lines.indexOf(''));
    const headers = (name: string) =>
      headerLines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((l) => l.slice(name.length + 1).trim());
    out.push({ direction: m[1] as 'sent' | 'received', at, firstLine: lines[0] ?? '', raw, headers, header: (n) => headers(n)[0] });
  }
  return out;
}

export const isRequest = (m: LoggedMessage, method: string) => m.firstLine.startsWith(`${method} `);
export const statusOf = (m: LoggedMessage): number | undefined => {
  const s = /^SIP\/2\.0 (\d{3})/.exec(m.firstLine);
  return s ? Number(s[1]) : undefined;
};

/**
 * Replays what a registrar that really kept bindings would have done with the
 * REGISTERs it accepted (200), in order, from the `initial` bindings: the set of
 * contacts after each one.
 * Query REGISTERs (no Contact) change nothing and are not listed.
 */
export function registrarBindings(
  messages: readonly LoggedMessage[],
  initial: readonly string[] = [],
): { readonly request: string; readonly contacts: string[] }[] {
  const bindings = new Set<string>(initial);
  const history: { request: string; contacts: string[] }[] = [];
  const pending = new Map<string, LoggedMessage>();
  for (const m of messages) {
    const key = `${m.header('Call-ID')}|${m.header('CSeq')}`;
    if (m.direction === 'received' && isRequest(m, 'REGISTER')) pending.set(key, m);
    if (m.direction !== 'sent' || statusOf(m) !== 200) continue;
    const req = pending.get(key);
    if (!req) continue;
    pending.delete(key);
    const contacts = req.headers('Contact').flatMap((h) => h.split(','));
    if (contacts.length === 0) continue;
    const headerExpires = Number(req.header('Expires') ?? '3600');
    for (const c of contacts) {
      const uri = /<([^>]+)>/.exec(c)?.[1] ?? c.trim();
      const param = /;\s*expires\s*=\s*(\d+)/i.exec(c.slice(c.indexOf('>') + 1))?.[1];
      const expires = param !== undefined ? Number(param) : headerExpires;
      if (uri === '*' || expires === 0) {
        if (uri === '*') bindings.clear();
        else bindings.delete(uri);
      } else bindings.add(uri);
    }
    history.push({ request: contacts.join(', '), contacts: [...bindings] });
  }
  return history;
}
