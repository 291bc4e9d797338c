import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { configSchema } from '../../src/config/schema';
import { configSecrets } from '../../src/config/secrets';
import { type Proc, scratchDir, start, waitFor } from './processes';

const ROOT = resolve(__dirname, '../..');

export type LogLine = Record<string, unknown> & { msg?: string };

export interface RunningAgent {
  readonly proc: Proc;
  logs(): LogLine[];
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine>;
  /** A call on the admin API; `/metrics` is fetched from the metrics listener, where the agent serves it. */
  admin(path: string, init?: { method?: string; token?: string }): Promise<{ status: number; body: unknown; text: string }>;
  stop(): Promise<void>;
}

/** A SIP credential in clear: a digest answer, or an Authorization value the logger did not censor. */
const SIP_CREDENTIALS = [/\bresponse=\\?"/i, /authorization:\s*(?:digest|bearer|basic)\s+(?!\[redacted\])/i];

/**
 * What in `output` gives away a credential: any configured secret value (as
 * written or JSON-escaped) or a SIP credential; one entry per finding, naming
 * the key or pattern and the line, never the value.
 */
export function leakedSecrets(config: Record<string, unknown>, output: string): string[] {
  const parsed = configSchema.safeParse(config);
  const secrets = parsed.success ? configSecrets(parsed.data).flatMap(({ key, value }) => (value ? [{ key, value }] : [])) : [];
  const lines = output.split('\n');
  const where = (found: (line: string) => boolean) => lines.findIndex(found);
  return [
    ...secrets.flatMap(({ key, value }) => {
      const forms = [value, JSON.stringify(value).slice(1, -1)];
      const at = where((l) => forms.some((f) => l.includes(f)));
      return at < 0 ? [] : [`${key} in output line ${at + 1}`];
    }),
    ...SIP_CREDENTIALS.flatMap((re) => {
      const at = where((l) => re.test(l));
      return at < 0 ? [] : [`${String(re)} in output line ${at + 1}: ${lines[at]!.slice(0, 300)}`];
    }),
  ];
}

/**
 * Runs the built agent (`dist/cli.js run`) on a config object, as an operator
 * would, and reads its pino JSON lines. `stop()` fails the run when the agent's output
 * (stdout and stderr, start to end) carries any of its secrets, so every e2e
 * test proves the logs leak none.
 */
export async function startAgent(config: Record<string, unknown>, opts: { waitConnected?: boolean } = {}): Promise<RunningAgent> {
  const dir = scratchDir('agent');
  const file = join(dir, 'config.yaml');
  writeFileSync(file, stringify(config));
  const proc = start(process.execPath, [join(ROOT, 'dist/cli.js'), 'run', '--config', file], {
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('UNDERSTUDY_'))),
  });
  const logs = (): LogLine[] =>
    proc
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as LogLine];
        } catch {
          return [];
        }
      });
  const waitForLog = async (pred: (l: LogLine) => boolean, timeoutMs: number, what: string) => {
    let exited: number | null | 'running' = 'running';
    void proc.exited.then((c) => (exited = c));
    await waitFor(() => logs().some(pred) || exited !== 'running', timeoutMs, `${what}\n--- agent output ---\n${proc.output().slice(-4000)}`);
    if (!logs().some(pred)) throw new Error(`the agent exited (${String(exited)}) before ${what}\n${proc.output().slice(-4000)}`);
    return logs().find(pred) as LogLine;
  };
  const portOf = (section: unknown, def: number) => (section as { port?: number } | undefined)?.port ?? def;
  const admin = async (path: string, init: { method?: string; token?: string } = {}) => {
    const port = path === '/metrics' ? portOf(config.metrics, 9464) : portOf(config.admin, 8080);
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: init.method ?? 'GET',
      headers: init.token ? { authorization: `Bearer ${init.token}` } : {},
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // metrics and other plain-text answers stay text
    }
    return { status: res.status, body, text };
  };
  if (opts.waitConnected !== false) await waitForLog((l) => l.msg === 'connected to drachtio-server', 15_000, 'the agent to connect to drachtio-server');
  const stop = async () => {
    await proc.stop();
    const leaks = leakedSecrets(config, proc.output());
    // A failure, not a throw: a teardown that throws makes tap skip the ones after it (drachtio, SIPp…) and the file hangs.
    if (leaks.length) t.fail(`the agent's output carries secrets:\n  ${leaks.join('\n  ')}`);
  };
  return { proc, logs, waitForLog, admin, stop };
}

/**
 * Until `agent` reads no fresh heartbeat of its peer: none at all, or one older
 * than `staleAfterMs` (its heartbeat.staleAfterMs).
 */
export async function peerHeartbeatStale(agent: RunningAgent, staleAfterMs: number): Promise<void> {
  await waitFor(
    async () => {
      const age = ((await agent.admin('/status')).body as { peerHeartbeatAgeSec?: number | null }).peerHeartbeatAgeSec;
      return age === null || (typeof age === 'number' && age * 1000 > staleAfterMs);
    },
    staleAfterMs + 5000,
    "the peer's heartbeat to be absent or stale",
  );
}
