import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { freeTcpPort, onPath, type Proc, start, waitFor } from './processes';

export const redisAvailable = (): boolean => onPath('redis-server');

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
  /** Starts again on the same port. */
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
  kill(): Promise<void>;
}

function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
  });
}

/** A throw-away redis-server on a free loopback port, no persistence. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freeTcpPort();
  const dir = mkdtempSync(join(tmpdir(), 'understudy-redis-'));
  let proc: Proc;
  const launch = async () => {
    proc = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { cwd: dir });
    await waitFor(() => pong(port), 10_000, `redis-server on port ${port}\n${proc.output()}`);
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => proc.stop(),
    restart: launch,
    pause: () => proc.signal('SIGSTOP'),
    resume: () => proc.signal('SIGCONT'),
    kill: async () => {
      proc.signal('SIGKILL');
      await proc.exited;
    },
  };
}

export interface Sentinel {
  readonly port: number;
  stop(): Promise<void>;
}

/** A Sentinel (redis-server in sentinel mode) watching `master` as `name`, on a free loopback port. */
export async function startSentinel(master: RedisServer, name: string): Promise<Sentinel> {
  const port = await freeTcpPort();
  const dir = mkdtempSync(join(tmpdir(), 'understudy-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`, ''].join('\n'));
  const proc = start('redis-server', [conf, '--sentinel'], { cwd: dir });
  await waitFor(() => pong(port), 10_000, `sentinel on port ${port}\n${proc.output()}`);
  return { port, stop: () => proc.stop() };
}
