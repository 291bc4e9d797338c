import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Proc, scratchDir, start, tcpAccepts, waitFor } from './processes';

export interface DrachtioOptions {
  readonly sipAddress: string;
  readonly sipPort: number;
  readonly adminPort: number;
  readonly secret: string;
  /**
   * A SIP TLS listener on `sipAddress:port` as well, with this certificate.
   * `verifyWith`: a PEM file of CAs; drachtio-server then refuses a TLS peer
   * whose certificate does not chain to one of them.
   */
  readonly tls?: { readonly port: number; readonly cert: string; readonly key: string; readonly verifyWith?: string };
}

export interface Drachtio {
  readonly opts: DrachtioOptions;
  output(): string;
  /** The running process's id (a restart changes it). */
  pid(): number;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** SIGSTOP: the socket stays open and silent, as behind a hung host. */
  pause(): void;
  resume(): void;
}

/**
 * drachtio-server always reads a config file; the smallest one it accepts holds
 * an empty <admin/>, everything else comes from flags. The app port binds to
 * loopback only.
 */
export async function startDrachtio(opts: DrachtioOptions): Promise<Drachtio> {
  const dir = scratchDir('drachtio');
  const conf = join(dir, 'drachtio.conf.xml');
  writeFileSync(conf, '<drachtio><admin/></drachtio>\n');
  const args = [
    '-f', conf,
    '--contact', `sip:${opts.sipAddress}:${opts.sipPort};transport=udp,tcp`,
    // sofia-sip refuses a TLS transport without a CA list: the chain file is it, and
    // what it verifies peers against (tport_type_tls.c: the chain file is its CAfile).
    ...(opts.tls
      ? [
          '--contact', `sips:${opts.sipAddress}:${opts.tls.port};transport=tls`,
          '--cert-file', opts.tls.cert,
          '--key-file', opts.tls.key,
          '--chain-file', opts.tls.verifyWith ?? opts.tls.cert,
        ]
      : []),
    '--address', '127.0.0.1',
    '--port', String(opts.adminPort),
    '--secret', opts.secret,
    '--loglevel', 'info',
    '--stdout',
  ];
  // No flag or config element turns verification on; only this variable does, for
  // both directions at once (controller.cpp: TPTAG_TLS_VERIFY_PEER).
  const env = opts.tls?.verifyWith === undefined ? process.env : { ...process.env, DRACHTIO_TLS_VERIFY_CLIENT_CERT: '1' };
  let proc: Proc;
  const launch = async () => {
    proc = start('drachtio', args, { env });
    await waitFor(() => tcpAccepts('127.0.0.1', opts.adminPort), 10_000, `drachtio-server on 127.0.0.1:${opts.adminPort}\n${proc.output()}`);
  };
  await launch();
  return {
    opts,
    output: () => proc.output(),
    pid: () => proc.pid,
    stop: () => proc.stop(),
    restart: async () => {
      await proc.stop();
      await launch();
    },
    pause: () => proc.signal('SIGSTOP'),
    resume: () => proc.signal('SIGCONT'),
  };
}
