import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger } from '../../src/log';

const SECRET = 'Tq7"vLm\\2pX';

/** A logger whose lines land in an array, with `SECRET` configured. */
function capture(level = 'trace') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger(level, { node: 'n' }, { secrets: [SECRET, 'Hq8mZ2xrWk5p'], destination }), lines };
}

const DIGEST = 'Authorization: Digest username="appsrv", realm="ipbx", nonce="abc", uri="sip:ipbx", response="6629fae49393a05397450978507c4ef1"';

t.test('credential fields are redacted at any depth, header objects included', async (t) => {
  const { log, lines } = capture();
  log.info({ password: 'a1', cfg: { ipbx: { password: 'a2' }, admin: { token: 'a3' } }, req: { headers: { authorization: 'Bearer a4', 'proxy-authorization': 'Digest a5' } } }, 'x');
  log.info({ deep: { a: { b: { sentinelPassword: 'a6', Authorization: 'a7' } } }, drachtio: { secret: 'a8' } }, 'y');
  const text = lines.join('');
  for (const v of ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8']) t.notMatch(text, `"${v}"`, v);
  t.match(JSON.parse(lines[0]!), { password: '[redacted]', cfg: { ipbx: { password: '[redacted]' } }, req: { headers: { authorization: '[redacted]' } } });
});

t.test('configured secrets and SIP credentials are scrubbed from messages and error strings', async (t) => {
  const { log, lines } = capture();
  log.error({ err: `REGISTER failed: ${DIGEST}\r\nCall-ID: 1` }, `connect with ${SECRET} refused`);
  log.warn({ url: 'redis://:Hq8mZ2xrWk5p@10.0.0.1:6379' }, 'store');
  log.debug({ challenge: 'nonce="n1", response="0c5d8f3e9a"' }, 'answered');
  const text = lines.join('');
  t.notMatch(text, 'Tq7');
  t.notMatch(text, 'Hq8mZ2xrWk5p');
  t.notMatch(text, '6629fae4');
  t.notMatch(text, '0c5d8f3e9a');
  t.match(text, 'Authorization: Digest [redacted]');
  t.match(JSON.parse(lines[0]!), { msg: 'connect with [redacted] refused', err: /Call-ID: 1$/ });
});

t.test('a line with nothing secret is written as it is', async (t) => {
  const { log, lines } = capture();
  log.info({ owner: 'node-a', epoch: 3, reason: 'response time 12 ms' }, 'takeover');
  t.match(JSON.parse(lines[0]!), { owner: 'node-a', epoch: 3, reason: 'response time 12 ms', msg: 'takeover' });
});

t.test('stdout: a quiet line is written within a flush period, and what is buffered is written at exit', async (t) => {
  // dist/: the child is a plain node process, as the agent runs.
  const code = `
    const { createLogger, LOG_FLUSH_MS } = require(${JSON.stringify(join(__dirname, '../../dist/log.js'))});
    const log = createLogger('info', { node: 'n' });
    log.info('first');
    setTimeout(() => { log.info('second'); log.info('third'); process.exit(3); }, 3 * LOG_FLUSH_MS);
  `;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: string[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c.toString()));
  const [exitCode] = (await once(child, 'close')) as [number];
  t.equal(exitCode, 3);
  const msgs = chunks.map((c) => c.trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg));
  t.strictSame(msgs[0], ['first'], 'the lone line came out by itself, before the next was logged');
  t.strictSame(msgs.flat(), ['first', 'second', 'third'], 'the lines logged right before process.exit were not lost');
});
