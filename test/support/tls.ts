/** TLS pieces for the tests: a throw-away certificate and a TLS front for a TCP-only peer. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { join } from 'node:path';
import { createServer } from 'node:tls';
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
  stop(): Promise<void>;
}

/**
 * Terminates TLS on `listen` and relays each session's bytes to a plain TCP
 * `to`, both ways. Debian's SIPp is built without OpenSSL, so this lets a SIPp
 * on TCP stand for a peer reached over SIP TLS.
 */
export function startTlsRelay(listen: { host: string; port: number }, to: { host: string; port: number }, files: CertFiles): Promise<TlsRelay> {
  const protocols: string[] = [];
  const open: OpenSockets = new Set();
  const server: Server = createServer({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, (tls) => {
    protocols.push(tls.getProtocol() ?? 'unknown');
    const tcp = connect(to);
    joinSessions(tls, tcp, open);
    tls.pipe(tcp).pipe(tls);
  });
  return listenRelay(server, listen.host, listen.port, open).then(({ stop }) => ({
    sessions: () => protocols.length,
    protocols: () => [...protocols],
    stop,
  }));
}
