import type { Server, Socket } from 'node:net';

/** The sockets a relay holds open, so stopping it can end them. */
export type OpenSockets = Set<Socket>;

/** Ties two sockets of one relayed session: either closing or failing ends both. */
export function joinSessions(a: Socket, b: Socket, open: OpenSockets): void {
  open.add(a).add(b);
  const close = () => {
    a.destroy();
    b.destroy();
    open.delete(a);
    open.delete(b);
  };
  a.on('error', close).on('close', close);
  b.on('error', close).on('close', close);
}

/** Listens, and resolves with the port and a stop that ends every open session too. */
export function listenRelay(server: Server, host: string, port: number, open: OpenSockets): Promise<{ port: number; stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : port,
        stop: () =>
          new Promise<void>((done) => {
            // close() waits for open sessions, and drachtio keeps its connection up.
            server.close(() => done());
            for (const s of open) s.destroy();
          }),
      });
    });
  });
}
