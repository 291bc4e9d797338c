/** TLS pieces for the tests: a throw-away certificate and a TLS front for a TCP-only peer. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, createServer } from 'node:tls';
import { scratchDir } from './processes';
import { joinSessions, listenRelay, type OpenSockets } from './relay';

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

/** A self-signed certificate for `cn`, valid one day, written by openssl. */
export function selfSignedCert(cn: string): CertFiles {
  const dir = scratchDir('tls');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${cn}`], {
    stdio: 'ignore',
  });
  return { cert, key };
}

export interface TlsRelay {
  /** TLS sessions completed so far (handshake done). */
  sessions(): number;
  /** TLS protocol of each completed session, e.g. "TLSv1.3". */
  protocols(): string[];
  /** Why each handshake that did not complete failed, as the relay's side saw it. */
  failedHandshakes(): string[];
  stop(): Promise<void>;
}

/**
 * Terminates TLS on `listen` and relays each session's bytes to a plain TCP
 * `to`, both ways. Debian's SIPp is built without OpenSSL, so this lets a SIPp
 * on TCP stand for a peer reached over SIP TLS.
 */
export function startTlsRelay(listen: { host: string; port: number }, to: { host: string; port: number }, files: CertFiles): Promise<TlsRelay> {
  const protocols: string[] = [];
  const failed: string[] = [];
  const open: OpenSockets = new Set();
  const server: Server = createServer({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, (tls) => {
    protocols.push(tls.getProtocol() ?? 'unknown');
    const tcp = connect(to);
    joinSessions(tls, tcp, open);
    tls.pipe(tcp).pipe(tls);
  });
  server.on('tlsClientError', (err) => failed.push(err.message));
  return listenRelay(server, listen.host, listen.port, open).then(({ stop }) => ({
    sessions: () => protocols.length,
    protocols: () => [...protocols],
    failedHandshakes: () => [...failed],
    stop,
  }));
}

/**
 * Opens a TLS session to `host:port` without a client certificate and says how
 * the server took it: `accepted` if the session still stands after `holdMs`,
 * else `refused: …`. In TLS 1.3 a server refuses a client only after the
 * client's side of the handshake is done, hence the wait.
 */
export function tryWithoutClientCert(host: string, port: number, holdMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false });
    const done = (outcome: string) => {
      socket.destroy();
      resolve(outcome);
    };
    socket.once('error', (err) => done(`refused: ${err.message}`));
    socket.once('close', () => done('refused: closed'));
    socket.once('secureConnect', () => setTimeout(() => done('accepted'), holdMs));
    socket.resume();
  });
}
