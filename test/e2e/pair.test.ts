/**
 * Two agents, each on its own drachtio-server, sharing Redis, behind a SIPp
 * registrar whose message log is replayed to prove it never held two contacts.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import Redis from 'ioredis';
import t, { type Test } from 'tap';
import { peerHeartbeatStale, type RunningAgent, startAgent } from '../support/agent';
import { type Drachtio, startDrachtio } from '../support/drachtio';
import { freeTcpPort, waitFor } from '../support/processes';
import { type RedisServer, startRedis } from '../support/redis';
import { e2e } from '../support/rig';
import { isRequest, type LoggedMessage, registrarBindings, type Sipp, startSipp, statusOf } from '../support/sipp';
import { contactOf, NET, nodeConfig, type NodeSpec, registrarKeys, SECRETS } from '../support/topology';

e2e(t, run);

interface Node {
  drachtio: Drachtio;
  agent: RunningAgent;
  config: Record<string, unknown>;
  app: Sipp;
}

interface Pair {
  redis: RedisServer;
  registrar: Sipp;
  a: Node;
  b: Node;
  startNode(which: 'a' | 'b'): Promise<RunningAgent>;
}

async function pair(t: Test, opts: { mode?: 'ha' | 'backup'; a?: NodeSpec['overrides']; b?: NodeSpec['overrides'] } = {}): Promise<Pair> {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const registrar = startSipp({
    scenario: 'ipbx-registrar.xml',
    localIp: NET.registrar,
    localPort: NET.sipPort,
    // What a query REGISTER reports: the primary's binding, as after its first start.
    keys: registrarKeys({ bindings: `Contact: <${contactOf(NET.nodeA)}>;expires=300` }),
    timeoutSec: 300,
  });
  t.teardown(() => registrar.stop());
  const node = async (id: 'node-a' | 'node-b'): Promise<Node> => {
    const isA = id === 'node-a';
    const address = isA ? NET.nodeA : NET.nodeB;
    const drachtio = await startDrachtio({ sipAddress: address, sipPort: NET.sipPort, adminPort: await freeTcpPort(), secret: SECRETS.drachtio });
    t.teardown(() => drachtio.stop());
    const appAddress = isA ? NET.appA : NET.appB;
    const app = startSipp({ scenario: 'app-uas.xml', localIp: appAddress, localPort: NET.appPort, pauseMs: 100, timeoutSec: 300 });
    t.teardown(() => app.stop());
    const config = await nodeConfig({
      id,
      role: isA ? 'primary' : 'secondary',
      address,
      peerAddress: isA ? NET.nodeB : NET.nodeA,
      app: appAddress,
      drachtioPort: drachtio.opts.adminPort,
      redisUrl: redis.url,
      mode: opts.mode ?? 'ha',
      ...((isA ? opts.a : opts.b) ? { overrides: isA ? opts.a : opts.b } : {}),
    });
    return { drachtio, app, config, agent: null as unknown as RunningAgent };
  };
  const nodes = { a: await node('node-a'), b: await node('node-b') };
  const startNode = async (which: 'a' | 'b') => {
    const agent = await startAgent(nodes[which].config);
    t.teardown(() => agent.stop());
    nodes[which].agent = agent;
    return agent;
  };
  for (const which of ['a', 'b'] as const) {
    const agent = await startNode(which);
    // A node whose app has not answered yet heartbeats "unhealthy", which the peer reads as dead.
    await agent.waitForLog((l) => l.msg === 'local app answers its health probe', 5000, `node ${which}'s app to be healthy`);
  }
  await waitFor(() => registrarBindings(registrar.messages()).length > 0, 5000, 'the primary to register');
  return { redis, registrar, ...nodes, startNode };
}

function call(address: string, pauseMs = 200): Sipp {
  return startSipp({
    scenario: 'caller.xml',
    remote: `${address}:${NET.sipPort}`,
    localIp: NET.caller,
    localPort: NET.callerPort,
    calls: 1,
    pauseMs,
    timeoutSec: 30,
  });
}

const finals = (s: Sipp) =>
  s
    .messages()
    .filter((m) => m.direction === 'received' && (statusOf(m) ?? 0) >= 200 && m.header('CSeq')?.endsWith('INVITE'))
    .map((m) => statusOf(m));

async function status(agent: RunningAgent): Promise<Record<string, unknown>> {
  return (await agent.admin('/status')).body as Record<string, unknown>;
}

/** The status while waiting on it: an agent whose admin API is not listening yet (its store still connecting) reads as empty. */
async function polled(agent: RunningAgent): Promise<Record<string, unknown>> {
  return status(agent).catch(() => ({}));
}

/** The operator's CLI, as the runbook uses it. */
function cli(command: string, agent: Node): { code: number | null; out: string } {
  const admin = agent.config.admin as { port: number };
  const r = spawnSync(process.execPath, [resolve(__dirname, '../../dist/cli.js'), command, '--url', `http://127.0.0.1:${admin.port}`, '--token', SECRETS.adminToken], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function neverTwo(t: Test, p: Pair): void {
  const history = registrarBindings(p.registrar.messages());
  t.comment(`registrar bindings over time: ${history.map((h) => `[${h.contacts.join(' ')}]`).join(' -> ')}`);
  t.ok(history.every((h) => h.contacts.length <= 1), 'the registrar never held two contacts for the AOR');
}

async function kill(node: Node): Promise<void> {
  node.agent.proc.signal('SIGKILL');
  await node.agent.proc.exited;
  await node.drachtio.stop();
}

/** Until node `n` reads its peer's heartbeat as stale or gone, by its own heartbeat.staleAfterMs. */
const peerGone = (n: Node) => peerHeartbeatStale(n.agent, (n.config.heartbeat as { staleAfterMs: number }).staleAfterMs);

/** Until `agent` has completed a heartbeat tick (it applies ownership first, then beats and reads the peer). */
async function ticked(agent: RunningAgent): Promise<void> {
  // A number: an agent whose admin API is not listening yet reads as {}, whose age is undefined, not null.
  await waitFor(async () => typeof (await polled(agent)).peerHeartbeatAgeSec === 'number', 5000, 'a first heartbeat tick');
}

function run(): void {
  t.test('a. primary killed: the secondary takes over on the next overflow call', async (t) => {
    const p = await pair(t);
    await kill(p.a);
    await peerGone(p.b);
    const c = call(NET.nodeB);
    t.equal(await c.finished(20_000), 0);
    t.strictSame(finals(c), [200], 'the overflow call was bridged');
    t.match(await status(p.b.agent), { owner: 'node-b', isOwner: true, registered: true, epoch: 2 });
    const last = registrarBindings(p.registrar.messages()).at(-1);
    t.strictSame(last?.contacts, [contactOf(NET.nodeB)], 'the registrar holds only the secondary');
    neverTwo(t, p);
  });

  t.test('b. primary restarted stays passive; failback moves ownership back; a call in progress completes', async (t) => {
    const p = await pair(t);
    await kill(p.a);
    await peerGone(p.b);
    const first = call(NET.nodeB);
    t.equal(await first.finished(20_000), 0, 'takeover call');
    await p.a.drachtio.restart();
    const a = await p.startNode('a');
    await ticked(a);
    t.match(await status(a), { owner: 'node-b', isOwner: false, registered: false }, 'the returning primary does not register');
    const inProgress = call(NET.nodeB, 4000);
    await waitFor(() => finals(inProgress).includes(200), 5000, 'the long call to be answered on the secondary');
    const fb = cli('failback', p.b);
    t.equal(fb.code, 0, `failback: ${fb.out.trim()}`);
    await waitFor(async () => (await polled(a)).registered === true, 8000, 'the primary to register');
    t.match(await status(a), { owner: 'node-a', isOwner: true, registered: true });
    t.match(await status(p.b.agent), { owner: 'node-a', isOwner: false, registered: false });
    t.equal(await inProgress.finished(20_000), 0, 'the call in progress on the secondary completed');
    t.ok(inProgress.messages().some((m) => m.direction === 'sent' && isRequest(m, 'BYE')), 'ended by its own BYE');
    const again = cli('failback', p.b);
    t.equal(again.code, 0);
    t.match(again.out, /nothing to do/, 'a second failback changes nothing and says so');
    neverTwo(t, p);
  });

  t.test('c. split, refused: the primary refuses the probes but its heartbeat is fresh: no takeover, counted', async (t) => {
    // Lockdown on A: only the IPBX may reach it, so B's OPTIONS get 403 while A keeps heartbeating.
    const p = await pair(t, { a: { security: { lockdown: true } } });
    const c = call(NET.nodeB);
    t.equal(await c.finished(20_000), 0);
    t.strictSame(finals(c), [486], 'dissuaded');
    const decision = await p.b.agent.waitForLog((l) => typeof l.verdict === 'string', 3000, 'the decision');
    t.match(decision, { verdict: 'split', heartbeat: 'fresh-healthy', action: 'dissuade' });
    t.match(await status(p.b.agent), { owner: 'node-a', isOwner: false });
    const metrics = (await p.b.agent.admin('/metrics')).text;
    t.match(metrics, /^understudy_splits_total 1$/m, 'the split is counted');
    neverTwo(t, p);
  });

  t.test('c. split, silent: the probes from the secondary go unanswered while the primary heartbeats: no takeover, counted', async (t) => {
    // A partition seen from B: its OPTIONS reach a SIPp that is frozen (SIGSTOP),
    // so they time out exactly as across a cut link, while A keeps serving the
    // IPBX and writing its heartbeat. B probes that stand-in instead of A.
    const blackhole = startSipp({ scenario: 'primary-options.xml', localIp: NET.cutPath, localPort: NET.sipPort });
    t.teardown(() => blackhole.stop());
    const p = await pair(t, { b: { peer: { uri: `sip:${NET.cutPath}:${NET.sipPort}` } } });
    // Frozen only now that it has long bound its socket: a port nobody holds
    // draws an ICMP error, which drachtio turns into a quick 503, not silence.
    blackhole.pause();
    const c = call(NET.nodeB);
    t.equal(await c.finished(20_000), 0);
    t.strictSame(finals(c), [486], 'dissuaded');
    const decision = await p.b.agent.waitForLog((l) => typeof l.verdict === 'string', 3000, 'the decision');
    t.match(decision, { verdict: 'split', heartbeat: 'fresh-healthy', action: 'dissuade' });
    t.match(decision.probes, [{ outcome: 'no-answer' }, { outcome: 'no-answer' }, { outcome: 'no-answer' }], 'three probes, all unanswered');
    t.match(await status(p.b.agent), { owner: 'node-a', isOwner: false, registered: false });
    t.match(await status(p.a.agent), { owner: 'node-a', isOwner: true, registered: true });
    t.match((await p.b.agent.admin('/metrics')).text, /^understudy_splits_total 1$/m, 'the split is counted');
    neverTwo(t, p);
  });

  t.test('d. Redis stopped: calls still handled, errors logged, process up; Redis back: heartbeats resume', async (t) => {
    const p = await pair(t);
    await p.redis.kill();
    await p.a.agent.waitForLog((l) => l.msg === 'state store unreachable: the SIP path alone decides until it is back', 5000, 'the store alarm');
    const c = call(NET.nodeA);
    t.equal(await c.finished(20_000), 0);
    t.strictSame(finals(c), [200], 'the owner still bridges');
    t.match(await status(p.a.agent), { isOwner: true, registered: true, store: { reachable: false } });
    t.equal((await p.a.agent.admin('/readyz')).status, 503, 'not ready without its store');
    await p.redis.restart();
    await p.a.agent.waitForLog((l) => l.msg?.startsWith('state store reachable') === true, 8000, 'the store to come back');
    await waitFor(async () => ((await status(p.b.agent)).peerHeartbeatAgeSec as number | null) !== null, 5000, 'heartbeats to resume');
    t.equal((await p.a.agent.admin('/readyz')).status, 200);
  });

  t.test('e. both agents restarted at the same moment on an empty store: exactly one owner afterwards', async (t) => {
    const p = await pair(t);
    await Promise.all([p.a.agent.stop(), p.b.agent.stop()]);
    // The test's Redis keeps nothing across a restart: the two nodes race for the first ownership.
    await p.redis.stop();
    await p.redis.restart();
    const [a, b] = await Promise.all([p.startNode('a'), p.startNode('b')]);
    await waitFor(async () => (await polled(a)).registered === true, 8000, 'the primary to register');
    await waitFor(async () => (await polled(b)).owner !== null && (await polled(b)).owner !== undefined, 5000, 'the secondary to read ownership');
    await Promise.all([ticked(a), ticked(b)]);
    t.match(await status(a), { owner: 'node-a', epoch: 1, isOwner: true, registered: true });
    t.match(await status(b), { owner: 'node-a', epoch: 1, isOwner: false, registered: false });
    neverTwo(t, p);
  });

  t.test('g. Redis restarted without its data after a switchover: the owner writes its epoch back, the primary does not claim', async (t) => {
    const p = await pair(t);
    const sw = cli('switchover', p.a);
    t.equal(sw.code, 0, `switchover: ${sw.out.trim()}`);
    await waitFor(async () => (await polled(p.b.agent)).registered === true, 8000, 'the secondary to register');
    await waitFor(async () => (await polled(p.a.agent)).registered === false, 8000, 'the primary to unregister');
    const registersBefore = p.a.agent.logs().filter((l) => l.msg === 'this node owns the registration: registering').length;
    await p.redis.stop();
    const restartedAt = Date.now();
    await p.redis.restart();
    const restored = (l: { msg?: string }) => l.msg?.startsWith('ownership restored') === true;
    await waitFor(() => [p.a.agent, p.b.agent].some((ag) => ag.logs().some(restored)), 10_000, 'a node to write ownership back');
    const redis = new Redis(p.redis.url);
    t.teardown(() => redis.disconnect());
    // Both nodes beat again after the restore, each saying it follows node-b at epoch 2.
    const beatsEpoch2 = async (node: string) => {
      const raw = await redis.get(`understudy:heartbeat:${node}`);
      const hb = raw === null ? null : (JSON.parse(raw) as { at: number; epochSeen: number; ownerSeen?: string });
      return hb !== null && hb.at > restartedAt + 1000 && hb.epochSeen === 2 && hb.ownerSeen === 'node-b';
    };
    await waitFor(async () => (await beatsEpoch2('node-a')) && (await beatsEpoch2('node-b')), 8000, 'both nodes to acknowledge epoch 2 again');
    t.strictSame(JSON.parse((await redis.get('understudy:ownership')) ?? 'null'), { owner: 'node-b', epoch: 2 }, 'ownership in the store: node-b at epoch 2, not back to 1');
    t.match(await status(p.a.agent), { owner: 'node-b', epoch: 2, isOwner: false, registered: false });
    t.match(await status(p.b.agent), { owner: 'node-b', epoch: 2, isOwner: true, registered: true });
    t.equal(p.a.agent.logs().filter((l) => l.msg === 'this node owns the registration: registering').length, registersBefore, 'the primary never registered');
    t.notOk(p.b.agent.logs().some((l) => l.msg === 'ownership moved to the peer: unregistering'), 'the owner never stepped down');
    t.strictSame(registrarBindings(p.registrar.messages()).at(-1)?.contacts, [contactOf(NET.nodeB)]);
    neverTwo(t, p);
  });

  for (const watchOwner of [true, false]) {
    t.test(`h. owner killed, watchOwner ${watchOwner}: ${watchOwner ? 'owner_unreachable before any call, the next overflow call decided from probes already made' : 'the call waits for its own probes (the former way)'}`, async (t) => {
      const p = await pair(t, { b: { verification: { watchOwner } } });
      await kill(p.a);
      const alarm = 'understudy_alarm{alarm="owner_unreachable"} 1';
      if (watchOwner) {
        await waitFor(async () => (await p.b.agent.admin('/metrics')).text.split('\n').includes(alarm), 5000, 'owner_unreachable before any call');
      }
      await peerGone(p.b); // else a fresh heartbeat makes it a split
      const c = call(NET.nodeB);
      t.equal(await c.finished(20_000), 0);
      t.strictSame(finals(c), [200], 'taken over and bridged');
      const invite = c.messages().find((m) => m.direction === 'sent' && isRequest(m, 'INVITE'));
      const ok = c.messages().find((m) => m.direction === 'received' && statusOf(m) === 200);
      const decision = p.b.agent.logs().find((l) => typeof l.verdict === 'string');
      t.match(decision, { verdict: 'dead', action: 'takeover', evidence: watchOwner });
      const probes = (decision?.probes ?? []) as { at: number }[];
      const inviteAt = invite?.at ?? NaN;
      if (watchOwner) t.ok(probes.length === 3 && probes.every((pr) => pr.at < inviteAt), 'every probe it decided on was made before the INVITE');
      else t.ok(probes.length === 3 && probes.every((pr) => pr.at >= inviteAt - 5), 'three probes made for the call');
      t.comment(
        `takeover latency with watchOwner ${watchOwner}: INVITE → decision ${Math.round(Date.parse(String(decision?.time)) - inviteAt)} ms, INVITE → 200 ${Math.round((ok?.at ?? NaN) - inviteAt)} ms (the app answers after 100 ms)`,
      );
      t.ok(!(await p.b.agent.admin('/metrics')).text.split('\n').includes(alarm), 'the alarm cleared once node-b owns');
      neverTwo(t, p);
    });
  }

  t.test("i. the owner's app dies: the call that finds it gone makes the owner answer 503, the next overflow call is taken over", async (t) => {
    // Health probes every 5 s: only the failed call can make node-a look again within 1 s.
    const p = await pair(t, { a: { app: { healthIntervalMs: 5000 } } });
    await p.a.app.stop();
    const lost = call(NET.nodeA);
    t.equal(await lost.finished(20_000), 0);
    const code = finals(lost)[0] ?? 0;
    t.ok(code >= 400, `the call to the owner failed (${code}): the one call lost`);
    const down = await p.a.agent.waitForLog((l) => l.msg === 'local app does not answer its health probe', 1000, 'node-a to look again at once');
    t.match(down, { afterFailedCall: true });
    t.match(await status(p.a.agent), { appHealthy: false, isOwner: true });
    const overflow = call(NET.nodeB);
    t.equal(await overflow.finished(20_000), 0);
    t.strictSame(finals(overflow), [200], 'the next overflow call is taken over and bridged by node-b');
    t.match(await status(p.b.agent), { owner: 'node-b', isOwner: true, registered: true });
    t.comment('calls lost between the app dying and node-b owning: 1 (the call that found it gone)');
    neverTwo(t, p);
  });

  t.test('j. one health probe of the owner\'s app lost: the owner stays healthy, an overflow call is dissuaded, no takeover', async (t) => {
    const p = await pair(t, { a: { app: { healthIntervalMs: 2000 } } });
    p.a.app.pause();
    await p.a.agent.waitForLog((l) => l.msg === 'a health probe of the local app failed; still healthy', 5000, 'one lost health probe');
    const overflow = call(NET.nodeB);
    t.equal(await overflow.finished(20_000), 0);
    p.a.app.resume();
    t.strictSame(finals(overflow), [486], 'dissuaded: the owner is alive');
    t.match(await status(p.a.agent), { appHealthy: true, isOwner: true, registered: true });
    t.match(await status(p.b.agent), { owner: 'node-a', isOwner: false });
    t.notOk(p.a.agent.logs().some((l) => l.msg === 'local app does not answer its health probe'), 'never reported down');
  });

  t.test('f. mode backup: primary dead, no takeover; `understudy switchover` performs it', async (t) => {
    const p = await pair(t, { mode: 'backup' });
    await kill(p.a);
    await peerGone(p.b);
    const c = call(NET.nodeB);
    t.equal(await c.finished(20_000), 0);
    t.strictSame(finals(c), [486], 'dissuaded, not taken over');
    await p.b.agent.waitForLog((l) => l.msg === 'primary down, switchover needed', 3000, 'the alarm');
    t.match(await status(p.b.agent), { isOwner: false });
    const sw = cli('switchover', p.b);
    t.equal(sw.code, 0, `switchover: ${sw.out.trim()}`);
    await waitFor(async () => (await polled(p.b.agent)).registered === true, 8000, 'the secondary to register');
    t.match(await status(p.b.agent), { owner: 'node-b', isOwner: true });
    neverTwo(t, p);
  });

  t.test('k. the owner agent frozen past its refresh while the peer takes over: thawed, it never registers over the peer', async (t) => {
    // The shortest lifetime the registrar grants (Min-Expires 60): node-a's refresh falls due 30 s after it registered.
    const GRANT_SEC = 60;
    const p = await pair(t, { a: { ipbx: { expires: GRANT_SEC } }, b: { ipbx: { expires: GRANT_SEC } } });
    const aContact = contactOf(NET.nodeA);
    const fromA = (m: LoggedMessage) => m.direction === 'received' && isRequest(m, 'REGISTER') && (m.header('Contact') ?? '').includes(aContact);
    const registeredAt = p.registrar.messages().filter(fromA).at(-1)?.at as number;
    // The agent alone: its drachtio-server keeps running, holding the SIP socket and the app connection.
    p.a.agent.proc.signal('SIGSTOP');
    t.teardown(() => p.a.agent.proc.signal('SIGCONT'));
    await peerGone(p.b);
    const c = call(NET.nodeB);
    t.equal(await c.finished(20_000), 0);
    t.strictSame(finals(c), [200], 'the overflow call revealed the frozen owner and was bridged');
    t.match(await status(p.b.agent), { owner: 'node-b', isOwner: true, registered: true, epoch: 2 });
    // The event under test is node-a's refresh timer falling due while it is frozen: a moment, not something to observe.
    const refreshDue = registeredAt + (GRANT_SEC / 2) * 1000;
    await waitFor(() => Date.now() > refreshDue + 500, refreshDue + 500 - Date.now() + 1000, "node-a's refresh to fall due");
    const thawedAt = Date.now();
    p.a.agent.proc.signal('SIGCONT');
    // Reading the new ownership comes first; its own unregister completes a round trip later.
    await waitFor(async () => {
      const a = await status(p.a.agent);
      return a.isOwner === false && a.registered === false;
    }, 5000, 'the thawed node-a to read the new ownership and remove its binding');
    t.match(await status(p.a.agent), { owner: 'node-b', epoch: 2, isOwner: false, registered: false }, 'node-a ends passive');
    const refreshes = p.registrar.messages().filter((m) => fromA(m) && m.at >= thawedAt && m.header('Expires') !== '0');
    t.strictSame(refreshes.map((m) => m.firstLine), [], 'no REGISTER of node-a after the thaw but its removal');
    t.strictSame(registrarBindings(p.registrar.messages()).at(-1)?.contacts, [contactOf(NET.nodeB)], 'the registrar holds only node-b');
    neverTwo(t, p);
  });
}
