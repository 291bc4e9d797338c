/**
 * The baseline of the dissuasion path: the smallest drachtio-srf app that
 * refuses every INVITE with 486, with none of understudy's checks or its
 * verification of the owner. Run: node --import @tapjs/typescript/import bench/minimal-reject.ts PORT SECRET
 */
import Srf from 'drachtio-srf';

const [port, secret] = process.argv.slice(2);
if (!port || !secret) throw new Error('usage: minimal-reject PORT SECRET');
const srf = new Srf();
// Typed as a promise, but drachtio-srf returns its app here; failures come as 'error' events.
void srf.connect({ host: '127.0.0.1', port: Number(port), secret });
srf.on('connect', () => process.stdout.write('connected\n'));
srf.on('error', () => undefined);
srf.invite((_req, res) => res.send(486));
