import { connect, createServer } from 'node:net';
import { joinSessions, listenRelay, type OpenSockets } from './relay';

export interface VersionRelay {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * A TCP relay in front of drachtio-server's admin port that rewrites the
 * version string of its authenticate reply, e.g. to `1.0.0`: what a build
 * outside a git checkout reports, and what drachtio-srf never pings. Every
 * other byte passes unchanged, both ways.
 *
 * drachtio's framing is `<byte length>#<message>`; the reply's first line is
 * `msgId|response|requestId|OK|hostport|version|…`.
 */
export function startVersionRelay(upstreamPort: number, version: string): Promise<VersionRelay> {
  const open: OpenSockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    joinSessions(client, upstream, open);
    client.pipe(upstream);
    let pending: Buffer | null = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      if (pending === null) return void client.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      const hash = pending.indexOf('#');
      const length = hash === -1 ? NaN : Number(pending.subarray(0, hash).toString());
      if (!Number.isFinite(length) || pending.length < hash + 1 + length) return;
      const first = pending.subarray(hash + 1, hash + 1 + length).toString();
      const rest = pending.subarray(hash + 1 + length);
      pending = null;
      const rewritten = rewriteVersion(first, version);
      client.write(`${Buffer.byteLength(rewritten)}#${rewritten}`);
      if (rest.length > 0) client.write(rest);
    });
  });
  return listenRelay(server, '127.0.0.1', 0, open);
}

function rewriteVersion(message: string, version: string): string {
  const eol = message.indexOf('\r\n');
  const leader = eol === -1 ? message : message.slice(0, eol);
  const tokens = leader.split('|');
  if (tokens[1] !== 'response' || tokens[3] !== 'OK' || tokens.length < 6) throw new Error(`not an authenticate reply: ${leader}`);
  tokens[5] = version;
  return tokens.join('|') + (eol === -1 ? '' : message.slice(eol));
}
