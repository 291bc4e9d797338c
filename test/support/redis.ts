import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { freeTcpPort, type Proc, scratchDir, start, waitFor } from './processes';
import type { CertFiles } from './tls';

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

/** How the helpers reach a server: plain TCP or TLS, and the AUTH it needs first, if any. */
interface Access {
  readonly port: number;
  readonly tls?: boolean;
  /** `[password]` or `[username, password]`. */
  readonly auth?: readonly string[];
}

/** Whether `command`'s reply contains `expected`, within 500 ms. */
function replies(access: Access, command: string, expected: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s: Socket = access.tls
      ? tlsConnect({ host: '127.0.0.1', port: access.port, rejectUnauthorized: false })
      : createConnection({ host: '127.0.0.1', port: access.port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    let got = '';
    s.once(access.tls ? 'secureConnect' : 'connect', () => s.write(`${access.auth ? `AUTH ${access.auth.join(' ')}\r\n` : ''}${command}\r\n`));
    // A long reply may come in pieces: wait for the piece that holds `expected`.
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes(expected)) done(true);
    });
    s.once('close', () => done(false));
    s.once('error', () => done(false));
  });
}

const pong = (access: Access) => replies(access, 'PING', '+PONG');

export interface RedisSecurity {
  /** `requirepass`: the default user's password. */
  readonly password?: string;
  /** ACL users as redis.conf writes them, e.g. `app on >pw ~understudy:* +@all`; `default off` disables the default user. */
  readonly users?: readonly string[];
  /** TLS only (no plain port), with this certificate; clients are not asked for one. */
  readonly tls?: CertFiles;
}

/**
 * A throw-away redis-server on a free loopback port, no persistence.
 * With `replicaOf` a replica of that server, resolved once in sync with it.
 */
export async function startRedis(opts: { replicaOf?: RedisServer } & RedisSecurity = {}): Promise<RedisServer> {
  const port = await freeTcpPort();
  const dir = scratchDir('redis');
  const replication = opts.replicaOf ? ['--replicaof', '127.0.0.1', String(opts.replicaOf.port)] : [];
  const security = [
    ...(opts.password === undefined ? [] : ['--requirepass', opts.password]),
    ...(opts.users ?? []).flatMap((u) => ['--user', ...u.split(' ')]),
    ...(opts.tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.cert, '--tls-key-file', opts.tls.key, '--tls-ca-cert-file', opts.tls.cert, '--tls-auth-clients', 'no']
      : ['--port', String(port)]),
  ];
  // The helpers' own checks log in as the first ACL user, or with requirepass.
  const firstUser = opts.users?.[0]?.split(' ');
  const userPassword = firstUser?.find((w) => w.startsWith('>'))?.slice(1);
  const access: Access = {
    port,
    tls: opts.tls !== undefined,
    ...(firstUser && userPassword ? { auth: [firstUser[0]!, userPassword] } : opts.password ? { auth: [opts.password] } : {}),
  };
  // A replica is fed at once, not after the default 5 s wait for more replicas to share the transfer.
  const args = [...security, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0', ...replication];
  let proc: Proc;
  const launch = async () => {
    proc = start('redis-server', args, { cwd: dir });
    await waitFor(() => pong(access), 10_000, `redis-server on port ${port}\n${proc.output()}`);
    if (opts.replicaOf) {
      await waitFor(() => replies(access, 'INFO replication', 'master_link_status:up'), 10_000, `replica on port ${port} in sync\n${proc.output()}`);
    }
  };
  await launch();
  return {
    port,
    url: `${opts.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    stop: () => proc.stop(),
    restart: launch,
    pause: () => proc.signal('SIGSTOP'),
    resume: () => proc.signal('SIGCONT'),
    kill: async () => {
      proc.signal('SIGKILL');
      await proc.exited;
    },
    isReplica: () => replies(access, 'INFO replication', 'role:slave'),
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
  /** The Sentinel's own `requirepass`: clients must AUTH to it. */
  readonly password?: string;
  /** The master's `requirepass`, for the Sentinel to monitor it. */
  readonly masterPassword?: string;
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
      ...(opts.password === undefined ? [] : [`requirepass ${opts.password}`]),
      ...(opts.masterPassword === undefined ? [] : [`sentinel auth-pass ${name} ${opts.masterPassword}`]),
      '',
    ].join('\n'),
  );
  const proc = start('redis-server', [conf, '--sentinel'], { cwd: dir });
  const access: Access = { port, ...(opts.password === undefined ? {} : { auth: [opts.password] }) };
  await waitFor(() => pong(access), 10_000, `sentinel on port ${port}\n${proc.output()}`);
  return {
    port,
    knowsReplicas: (count) => replies(access, 'INFO sentinel', `name=${name},status=ok,address=127.0.0.1:${master.port},slaves=${count},`),
    failover: () => replies(access, `SENTINEL FAILOVER ${name}`, '+OK'),
    stop: () => proc.stop(),
  };
}
