import { mkdtempSync } from 'node:fs';
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
