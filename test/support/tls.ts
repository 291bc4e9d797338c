/** TLS pieces for the tests: a throw-away certificate and a TLS front for a TCP-only peer. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { scratchDir } from './processes';

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
  const open = new Set<Socket>();
  const server: Server = createServer({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, (tls) => {
    protocols.push(tls.getProtocol() ?? 'unknown');
    const tcp = connect(to);
    open.add(tls).add(tcp);
    tls.pipe(tcp).pipe(tls);
    const close = () => {
      tls.destroy();
      tcp.destroy();
      open.delete(tls);
      open.delete(tcp);
    };
    tls.on('error', close).on('close', close);
    tcp.on('error', close).on('close', close);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () =>
      resolve({
        sessions: () => protocols.length,
        protocols: () => [...protocols],
        stop: () =>
          new Promise<void>((done) => {
            // close() waits for open sessions, and drachtio keeps its connection up.
            server.close(() => done());
            for (const s of open) s.destroy();
          }),
      }),
    );
  });
}
