/**
 * The narrated demo: an IPBX stand-in, two drachtio-servers, two agents, two
 * local apps and a caller, all on loopback, playing the story of a pair:
 * calls to the owner, owner busy, owner killed, owner back, failback with a
 * call in progress. Then it leaves the pair running for `understudy status`,
 * `events`, `failback`, `switchover` until Ctrl-C (at most --keep-minutes),
 * and stops everything it started.
 *
 *   node --import @tapjs/typescript/import demo/run.ts [--ci] [--keep-minutes N]
 *
 * --ci plays the story and exits: the test suite runs it that way.
 */
import './net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { type RunningAgent, startAgent } from '../test/support/agent';
import { type Drachtio, startDrachtio } from '../test/support/drachtio';
import { TOOLS, unavailable } from '../test/support/preconditions';
import { freeTcpPort, scratchDir, waitFor } from '../test/support/processes';
import { startRedis } from '../test/support/redis';
import { type Sipp, startSipp } from '../test/support/sipp';
import { contactOf, NET, nodeConfig, SECRETS } from '../test/support/topology';
import { Ipbx, type IpbxNode } from './ipbx';

const ROOT = resolve(__dirname, '..');
const CLI = join(ROOT, 'dist/cli.js');
const ci = process.argv.includes('--ci');
const keepArg = process.argv.indexOf('--keep-minutes');
const KEEP_MINUTES = keepArg === -1 ? 60 : Number(process.argv[keepArg + 1]);

const t0 = Date.now();
function say(line: string): void {
  process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
}
const narration: string[] = [];
function narrate(line: string): void {
  narration.push(line);
  say(line);
}
function chapter(title: string): void {
  process.stdout.write(`\n== ${title} ==\n`);
}

type Which = 'a' | 'b';
interface Node {
  readonly id: 'node-a' | 'node-b';
  readonly address: string;
  readonly app: string;
  drachtio: Drachtio;
  agent: RunningAgent;
  config: Record<string, unknown>;
  configFile: string;
}

/** Everything started, in order, so the end stops it all (newest first). */
const stoppers: Array<{ what: string; stop: () => Promise<void> }> = [];
function started<T>(what: string, thing: T & { stop(): Promise<void> }): T {
  stoppers.push({ what, stop: () => thing.stop() });
  return thing;
}

async function stopAll(): Promise<void> {
  for (const s of stoppers.reverse()) await s.stop().catch(() => undefined);
  say(`stopped everything the demo started: the IPBX app and ${stoppers.length - 1} processes over the run`);
}

const dir = scratchDir('demo');
const nodesFor = (which: Which) => (which === 'a' ? { id: 'node-a' as const, address: NET.nodeA, app: NET.appA } : { id: 'node-b' as const, address: NET.nodeB, app: NET.appB });

async function startNode(which: Which, redisUrl: string, adminPort: number): Promise<Node> {
  const n = nodesFor(which);
  const drachtio = started(`drachtio-server ${n.id}`, await startDrachtio({ sipAddress: n.address, sipPort: NET.sipPort, adminPort: await freeTcpPort(), secret: SECRETS.drachtio }));
  const config = await nodeConfig({
    id: n.id,
    role: which === 'a' ? 'primary' : 'secondary',
    address: n.address,
    peerAddress: which === 'a' ? NET.nodeB : NET.nodeA,
    app: n.app,
    drachtioPort: drachtio.opts.adminPort,
    redisUrl,
    // One channel per node: a second call finds the owner busy.
    overrides: { app: { channels: 1 }, admin: { port: adminPort }, verification: { timeoutMs: 500 } },
  });
  const configFile = join(dir, `${n.id}.yaml`);
  writeFileSync(configFile, stringify(config));
  const agent = started(`understudy ${n.id}`, await startAgent(config));
  await agent.waitForLog((l) => l.msg === 'local app answers its health probe', 10_000, `${n.id}'s local app to answer`);
  return { ...n, drachtio, agent, config, configFile };
}

async function kill(node: Node): Promise<void> {
  node.agent.proc.signal('SIGKILL');
  await node.agent.proc.exited;
  await node.drachtio.stop();
}

let callerPort = NET.callerPort;
/** One call from the outside world into the IPBX, held `holdMs` once answered. */
function call(holdMs: number): Sipp {
  return started(
    'caller',
    startSipp({ scenario: 'caller.xml', remote: `${NET.registrar}:${NET.sipPort}`, localIp: NET.caller, localPort: callerPort++, calls: 1, pauseMs: holdMs, timeoutSec: 60 }),
  );
}

async function status(node: Node): Promise<Record<string, unknown>> {
  return (await node.agent.admin('/status')).body as Record<string, unknown>;
}

/**
 * The operator's CLI, as from their shell. Never spawnSync: the IPBX runs in
 * this process and must keep answering while the CLI waits on the agents.
 */
async function cli(args: string[]): Promise<string> {
  // As from the operator's shell: the demo's own network setting is no config override.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('UNDERSTUDY_')));
  const r = await promisify(execFile)(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000, env }).catch(
    (err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? String(err) }),
  );
  return `${r.stdout}${r.stderr}`.trimEnd();
}

const heard = (pattern: RegExp) => () => narration.some((l) => pattern.test(l));

async function main(): Promise<number> {
  const why = unavailable('demo', [TOOLS.drachtio, TOOLS.sipp, TOOLS.redis]);
  if (why) {
    process.stderr.write(`${why}\nrun scripts/demo.sh: it installs them\n`);
    return 2;
  }
  say(`setting up on ${NET.nodeA.replace(/\.\d+$/, '.x')}: Redis, the IPBX, two drachtio-servers, two agents, two apps`);
  const redis = started('redis-server', await startRedis());
  const ipbxDrachtio = started('drachtio-server ipbx', await startDrachtio({ sipAddress: NET.registrar, sipPort: NET.sipPort, adminPort: await freeTcpPort(), secret: SECRETS.drachtio }));
  const nodes: readonly [IpbxNode, IpbxNode] = [
    { name: 'node-a', uri: contactOf(NET.nodeA), app: 'app A' },
    { name: 'node-b', uri: contactOf(NET.nodeB), app: 'app B' },
  ];
  const ipbx = new Ipbx(
    { drachtio: { host: '127.0.0.1', port: ipbxDrachtio.opts.adminPort, secret: SECRETS.drachtio }, nodes, noAnswerMs: 6000, returnTries: 8, returnDelayMs: 1000 },
    narrate,
  );
  ipbx.start();
  stoppers.push({ what: 'IPBX app', stop: async () => ipbx.stop() });
  await waitFor(() => ipbx.isConnected, 10_000, 'the IPBX app to connect to its drachtio-server');
  for (const [address, name] of [[NET.appA, 'app A'], [NET.appB, 'app B']] as const) {
    started(name, startSipp({ scenario: 'app-uas.xml', localIp: address, localPort: NET.appPort, pauseMs: 300, timeoutSec: ci ? 600 : KEEP_MINUTES * 60 + 600 }));
  }
  const adminPorts = { a: await freeTcpPort(), b: await freeTcpPort() };
  const a0 = await startNode('a', redis.url, adminPorts.a);
  const b = await startNode('b', redis.url, adminPorts.b);
  let a = a0;
  await waitFor(() => ipbx.owner?.name === 'node-a', 10_000, 'node-a to register at the IPBX');

  chapter('1. Calls go to the owner');
  const c1 = call(1000);
  await c1.finished(30_000);

  chapter('2. The owner is busy: the other node dissuades, the IPBX returns the call');
  const c2 = call(4000);
  await waitFor(heard(/^call 2 → node-a \(owner\): answered/), 15_000, 'call 2 to be answered');
  narrate('call 2 holds node-a\'s only channel for 4 s');
  const c3 = call(1000);
  await Promise.all([c2.finished(30_000), c3.finished(30_000)]);

  chapter('3. The owner is killed: the other node takes over');
  await kill(a);
  narrate('node-a killed (its agent and its drachtio-server, SIGKILL)');
  await waitFor(async () => ((await status(b)).peerHeartbeatAgeSec ?? 99) as number > 1.2, 10_000, 'node-a\'s heartbeat to go stale');
  narrate('node-b sees node-a\'s heartbeat go stale');
  const c4 = call(1000);
  await c4.finished(40_000);
  await waitFor(() => ipbx.owner?.name === 'node-b', 10_000, 'node-b to hold the binding');

  chapter('4. The old owner comes back and stays passive');
  a = await startNode('a', redis.url, adminPorts.a);
  await waitFor(async () => (await status(a)).owner === 'node-b', 10_000, 'node-a to read ownership');
  const sa = await status(a);
  narrate(`node-a is back: it reads that ${String(sa.owner)} owns at epoch ${String(sa.epoch)}, registered ${sa.registered ? 'yes' : 'no'}: it stays passive`);
  const c5 = call(1000);
  await c5.finished(30_000);

  chapter('5. Failback by the operator, with a call in progress');
  const c6 = call(6000);
  await waitFor(heard(/^call 6 → .*answered/), 15_000, 'call 6 to be answered');
  narrate(`$ understudy failback --config ${b.configFile}`);
  narrate(await cli(['failback', '--config', b.configFile]));
  await waitFor(() => ipbx.owner?.name === 'node-a', 10_000, 'node-a to hold the binding again');
  const c7 = call(1000);
  await c7.finished(30_000);
  await c6.finished(30_000);
  await waitFor(heard(/^call 6 ended/), 5000, 'call 6 to end');

  chapter('The history, as `understudy events` prints it');
  process.stdout.write(`${await cli(['events', '--config', a.configFile])}\n`);

  if (!ci) {
    chapter('The pair is yours');
    process.stdout.write(
      [
        'Try, from another terminal in this directory:',
        `  node dist/cli.js status --config ${a.configFile}`,
        `  node dist/cli.js status --watch --config ${b.configFile}`,
        `  node dist/cli.js events --config ${a.configFile}`,
        `  node dist/cli.js switchover --config ${a.configFile}`,
        `  node dist/cli.js failback --config ${b.configFile}`,
        `  sipp ${NET.registrar}:${NET.sipPort} -sf sipp-scenarios/caller.xml -i ${NET.caller} -p 5090 -m 1 -d 2000 -s appsrv   # one more call`,
        `Ctrl-C stops everything (or it stops by itself in ${KEEP_MINUTES} min).`,
        '',
      ].join('\n'),
    );
    await new Promise<void>((done) => {
      const timer = setTimeout(done, KEEP_MINUTES * 60_000);
      process.once('SIGINT', () => {
        clearTimeout(timer);
        done();
      });
    });
  }
  return 0;
}

main()
  .catch((err: unknown) => {
    say(`the demo failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  })
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  })
  .catch((err: unknown) => {
    say(`stopping the demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
