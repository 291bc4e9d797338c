/** How the CLI client takes the admin token: from a file (not visible in `ps`), checked like any secret file. */
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import t, { type Test } from 'tap';
import { scratchDir } from '../support/processes';

/** The built CLI, as operators run it (`npm run build` comes first in every gate). */
const CLI = resolve(__dirname, '../../dist/cli.js');
const TOKEN = 'Hq8mZ2xrWk5p';
const dir = scratchDir('cli-token');

function tokenFile(name: string, mode: number): string {
  const file = join(dir, name);
  writeFileSync(file, `${TOKEN}\n`);
  chmodSync(file, mode);
  return file;
}

/** A stand-in admin API that records the Authorization header of each call. */
async function fakeAdmin(t: Test) {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ changed: false, message: 'node-a already owns at epoch 3' }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.teardown(() => new Promise<void>((ok) => server.close(() => ok())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('UNDERSTUDY_')));
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...clean, ...env } }, (err, stdout, stderr) => {
      done({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

t.test('--token-file and UNDERSTUDY_ADMIN__TOKEN_FILE send the file’s token', async (t) => {
  const admin = await fakeAdmin(t);
  const file = tokenFile('token', 0o600);
  t.match(await cli(['failback', '--url', admin.url, '--token-file', file]), { code: 0, stdout: /nothing to do/ });
  t.match(await cli(['failback', '--url', admin.url], { UNDERSTUDY_ADMIN__TOKEN_FILE: file }), { code: 0 });
  t.strictSame(admin.seen.map((h) => h.authorization), [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
});

t.test('status and events send the token too: beyond loopback the agent asks for it', async (t) => {
  const admin = await fakeAdmin(t);
  const file = tokenFile('token-reads', 0o600);
  await cli(['status', '--url', admin.url, '--token-file', file, '--json']);
  await cli(['events', '--url', admin.url, '--token-file', file, '--json']);
  t.strictSame(admin.seen.map((h) => h.authorization), [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
});

t.test('a refused status says why instead of printing an empty status', async (t) => {
  const server = createServer((_req, res) => {
    res.statusCode = 401;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ error: 'missing or wrong bearer token' }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.teardown(() => new Promise<void>((ok) => server.close(() => ok())));
  const r = await cli(['status', '--url', `http://127.0.0.1:${(server.address() as AddressInfo).port}`]);
  t.match(r, { code: 1, stdout: '', stderr: 'understudy: status refused (HTTP 401): missing or wrong bearer token\n' });
});

t.test('a token file open to group or others is refused before any call', async (t) => {
  const admin = await fakeAdmin(t);
  const file = tokenFile('token-644', 0o644);
  const r = await cli(['failback', '--url', admin.url, '--token-file', file]);
  t.equal(r.code, 2);
  t.equal(r.stderr, `understudy: --token-file: ${file} is open to group or others (mode 0644): chmod 600 ${file}\n`);
  t.strictSame(admin.seen, []);
});

t.test('--token and --token-file together are a usage error', async (t) => {
  const r = await cli(['failback', '--url', 'http://127.0.0.1:9', '--token', TOKEN, '--token-file', tokenFile('token-both', 0o600)]);
  t.match(r, { code: 2, stderr: /give --token or --token-file, not both/ });
});

t.test('--help says --token shows in ps and points to --token-file', async (t) => {
  t.match((await cli(['switchover', '--help'])).stdout, /--token <token>\s+admin bearer token: visible to every user in\s+`ps`, prefer\s+--token-file/);
});
