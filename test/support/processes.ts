import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Child processes and scratch directories of a test run: every process is
 * killed and every directory removed when the test process exits, however it
 * exits, so no SIPp or drachtio outlives its test and a run leaves /tmp as it
 * found it. UNDERSTUDY_KEEP_TMP=1 keeps the directories (SIPp message logs,
 * configs) for a post-mortem.
 */
const alive = new Set<ChildProcess>();
const scratch = new Set<string>();
process.on('exit', () => {
  for (const p of alive) p.kill('SIGKILL');
  if (process.env.UNDERSTUDY_KEEP_TMP === '1') return;
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the system's temp dir, gone when the test process exits. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `understudy-${prefix}-`));
  scratch.add(dir);
  return dir;
}

export interface Proc {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  output(): string;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * tap ends a test file that overruns its timeout with SIGKILL, and no 'exit'
 * handler runs then: a drachtio or SIPp left behind would hold its 127.0.0.x
 * port and break every later file. util-linux's setpriv makes the kernel kill
 * each child when the test process dies, however it dies.
 */
const SETPRIV = onPath('setpriv');

export function start(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const [file, argv] = SETPRIV ? ['setpriv', ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  alive.add(child);
  let out = '';
  const keep = (chunk: Buffer) => {
    // Bounded: a chatty process must not eat the test's memory.
    out = (out + chunk.toString()).slice(-1_000_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      alive.delete(child);
      resolve(code);
    });
    child.on('error', (err) => {
      out += `\nspawn error: ${err.message}`;
      alive.delete(child);
      resolve(-1);
    });
  });
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    pid: child.pid ?? -1,
    exited,
    output: () => out,
    signal: (sig) => {
      if (!gone) child.kill(sig);
    },
    stop: async (graceMs = 3000) => {
      if (gone) return;
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `pred` until true; fails with `what` after `timeoutMs`. */
export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function freeUdpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.once('error', reject);
    sock.bind(0, host, () => {
      const port = sock.address().port;
      sock.close(() => resolve(port));
    });
  });
}

export function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
