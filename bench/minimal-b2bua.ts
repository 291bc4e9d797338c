/**
 * The baseline of the benchmark: the smallest drachtio-srf B2BUA that does the
 * owner's job (INVITE relayed to one target, legs paired), with none of
 * understudy's checks. Run: node --import @tapjs/typescript/import bench/minimal-b2bua.ts PORT SECRET TARGET
 */
import Srf from 'drachtio-srf';

const [port, secret, target] = process.argv.slice(2);
if (!port || !secret || !target) throw new Error('usage: minimal-b2bua PORT SECRET TARGET');
const srf = new Srf();
// Typed as a promise, but drachtio-srf returns its app here; failures come as 'error' events.
void srf.connect({ host: '127.0.0.1', port: Number(port), secret });
srf.on('connect', () => process.stdout.write('connected\n'));
srf.on('error', () => undefined);
srf.invite((req, res) => {
  srf.createB2BUA(req, res, target, { localSdpB: req.body }).then(
    ({ uas, uac }) => {
      // destroy() rejects when both ends hang up at once; its typings hide the promise.
      const end = (leg: typeof uas) => () => void Promise.resolve(leg.destroy()).catch(() => undefined);
      uas.on('destroy', end(uac));
      uac.on('destroy', end(uas));
    },
    () => undefined,
  );
});
