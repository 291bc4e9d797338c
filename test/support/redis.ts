import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { freeTcpPort, type Proc, scratchDir, start, waitFor } from './processes';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
  /** Starts again on the same port. */
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
  kill(): Promise<void>;
  /** Whether it now replicates another server (INFO replication says role:slave). */
  isReplica(): Promise<boolean>;
}

/** Whether `command`'s reply on `port` contains `expected`, within 500 ms. */
function replies(port: number, command: string, expected: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    let got = '';
    s.once('connect', () => s.write(`${command}\r\n`));
    // A long reply may come in pieces: wait for the piece that holds `expected`.
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes(expected)) done(true);
    });
    s.once('close', () => done(false));
    s.once('error', () => done(false));
  });
}

const pong = (port: number) => replies(port, 'PING', '+PONG');

/**
 * A throw-away redis-server on a free loopback port, no persistence.
 * With `replicaOf` a replica of that server, resolved once in sync with it.
 */
export async function startRedis(opts: { replicaOf?: RedisServer } = {}): Promise<RedisServer> {
  const port = await freeTcpPort();
  const dir = scratchDir('redis');
  const replication = opts.replicaOf ? ['--replicaof', '127.0.0.1', String(opts.replicaOf.port)] : [];
  // A replica is fed at once, not after the default 5 s wait for more replicas to share the transfer.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0', ...replication];
  let proc: Proc;
  const launch = async () => {
    proc = start('redis-server', args, { cwd: dir });
    await waitFor(() => pong(port), 10_000, `redis-server on port ${port}\n${proc.output()}`);
    if (opts.replicaOf) {
      await waitFor(() => replies(port, 'INFO replication', 'master_link_status:up'), 10_000, `replica on port ${port} in sync\n${proc.output()}`);
    }
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
    isReplica: () => replies(port, 'INFO replication', 'role:slave'),
  };
}

export interface Sentinel {
  readonly port: number;
  /** Whether the Sentinel takes `master` for up and has found its `count` replicas (it learns them from the master's INFO). */
  knowsReplicas(count: number): Promise<boolean>;
  /** SENTINEL FAILOVER: a planned switch to the replica while the master still runs. */
  failover(): Promise<boolean>;
  stop(): Promise<void>;
}

export interface SentinelOptions {
  /** Silence after which the master is taken for down; Redis' default is 30 s. */
  readonly downAfterMs?: number;
  /** Redis' default is 3 min. */
  readonly failoverTimeoutMs?: number;
}

/** A Sentinel (redis-server in sentinel mode) watching `master` as `name` with quorum 1, on a free loopback port. */
export async function startSentinel(master: RedisServer, name: string, opts: SentinelOptions = {}): Promise<Sentinel> {
  const port = await freeTcpPort();
  const dir = scratchDir('sentinel');
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      ...(opts.downAfterMs === undefined ? [] : [`sentinel down-after-milliseconds ${name} ${opts.downAfterMs}`]),
      ...(opts.failoverTimeoutMs === undefined ? [] : [`sentinel failover-timeout ${name} ${opts.failoverTimeoutMs}`]),
      '',
    ].join('\n'),
  );
  const proc = start('redis-server', [conf, '--sentinel'], { cwd: dir });
  await waitFor(() => pong(port), 10_000, `sentinel on port ${port}\n${proc.output()}`);
  return {
    port,
    knowsReplicas: (count) => replies(port, 'INFO sentinel', `name=${name},status=ok,address=127.0.0.1:${master.port},slaves=${count},`),
    failover: () => replies(port, `SENTINEL FAILOVER ${name}`, '+OK'),
    stop: () => proc.stop(),
  };
}
