/**
 * The baseline of the dissuasion and OPTIONS paths: the smallest drachtio-srf
 * app that answers every request of one method with one status (INVITE 486,
 * OPTIONS 200), with none of understudy's checks or its verification of the
 * owner. Run: node --import @tapjs/typescript/import bench/minimal-responder.ts PORT SECRET invite|options STATUS
 */
import Srf from 'drachtio-srf';

const [port, secret, method, status] = process.argv.slice(2);
if (!port || !secret || (method !== 'invite' && method !== 'options') || !status) {
  throw new Error('usage: minimal-responder PORT SECRET invite|options STATUS');
}
const srf = new Srf();
// Typed as a promise, but drachtio-srf returns its app here; failures come as 'error' events.
void srf.connect({ host: '127.0.0.1', port: Number(port), secret });
srf.on('connect', () => process.stdout.write('connected\n'));
srf.on('error', () => undefined);
// use(method): drachtio-srf then asks drachtio-server for that method, as the agent does.
srf.use(method, (_req, res) => res.send(Number(status)));
