/** RedisStore against a real redis-server on a free loopback port. */
import t, { type Test } from 'tap';
import { epoch, type Ownership } from '../../src/core/types';
import { RedisStore, type RedisStoreOptions } from '../../src/state/redis-store';
import { TOOLS, withTools } from '../support/preconditions';
import { startRedis, startSentinel } from '../support/redis';
import { selfSignedCert } from '../support/tls';
import { freeTcpPort, sleep, waitFor } from '../support/processes';

withTools(t, 'redis integration', [TOOLS.redis], run);

const TIMEOUT = 300;

/** A fresh redis-server and a ready store on it, both gone with the test. */
async function storeFor(t: Test, keyPrefix: string) {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const store = new RedisStore({ url: redis.url, commandTimeoutMs: TIMEOUT, keyPrefix });
  t.teardown(() => store.close());
  await waitFor(() => store.isReachable(), 5000, 'the store to be ready');
  return store;
}

type Access = Omit<RedisStoreOptions, 'commandTimeoutMs' | 'keyPrefix'>;

/** A store with these credentials writes the next ownership and reads it back. */
async function roundTrip(t: Test, access: Access) {
  const store = new RedisStore({ ...access, commandTimeoutMs: TIMEOUT, keyPrefix: 'acl:' });
  t.teardown(() => store.close());
  t.equal(await store.ready(), true, 'connected');
  const current = await store.readOwnership();
  const next: Ownership = { owner: 'a', epoch: epoch((current?.epoch ?? 0) + 1) };
  t.match(await store.compareAndSetOwnership(current?.epoch ?? null, next), { ok: true });
  t.strictSame(await store.readOwnership(), next);
}

/** A store with these credentials never becomes ready (ready() gives up at the connect timeout) and its reads fail. */
async function refused(t: Test, what: string, access: Access) {
  const store = new RedisStore({ ...access, commandTimeoutMs: TIMEOUT, keyPrefix: 'acl:' });
  t.teardown(() => store.close());
  t.equal(await store.ready(), false, `${what}: not ready`);
  await t.rejects(store.readOwnership(), `${what}: reads fail`);
}

/**
 * A master, its replica and a Sentinel (quorum 1, down after 1 s) watching
 * them as `name`; a store reaching the master through the Sentinel, a direct
 * client of the replica, and an ownership written on the master and seen on the
 * replica. All gone with the test.
 */
async function sentinelWithReplica(t: Test, name: string) {
  const master = await startRedis();
  t.teardown(() => master.stop());
  const replica = await startRedis({ replicaOf: master });
  t.teardown(() => replica.stop());
  const sentinel = await startSentinel(master, name, { downAfterMs: 1000, failoverTimeoutMs: 5000 });
  t.teardown(() => sentinel.stop());
  // Without the replica in the Sentinel's view there is nobody to promote.
  await waitFor(() => sentinel.knowsReplicas(1), 15_000, 'the Sentinel to find the replica');
  const changes: boolean[] = [];
  const s = new RedisStore({
    sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
    sentinelName: name,
    commandTimeoutMs: TIMEOUT,
    keyPrefix: 'fo:',
    onReachabilityChange: (up) => changes.push(up),
  });
  t.teardown(() => s.close());
  await waitFor(() => s.isReachable(), 8000, 'the store to reach the master through Sentinel');
  const before: Ownership = { owner: 'a', epoch: epoch(7) };
  t.match(await s.compareAndSetOwnership(null, before), { ok: true, ownership: before });
  const onReplica = new RedisStore({ url: replica.url, commandTimeoutMs: TIMEOUT, keyPrefix: 'fo:' });
  t.teardown(() => onReplica.close());
  await waitFor(async () => (await onReplica.readOwnership().catch(() => null))?.epoch === before.epoch, 5000, 'the replica to have the ownership');
  return { master, replica, sentinel, s, onReplica, before, changes };
}

/**
 * Runs `attempt` until it returns true, as waitFor does; a throw counts as a
 * failed attempt. How many failed, the first words of each distinct error, and
 * the slowest attempt: a store that fails fast never has one near its timeout.
 */
async function attemptUntil(attempt: () => Promise<boolean>, timeoutMs: number, what: string) {
  let failures = 0;
  let slowest = 0;
  const errors = new Set<string>();
  await waitFor(
    async () => {
      const started = Date.now();
      try {
        return await attempt();
      } catch (err) {
        failures++;
        errors.add(err instanceof Error ? err.message.slice(0, 60) : String(err));
        return false;
      } finally {
        slowest = Math.max(slowest, Date.now() - started);
      }
    },
    timeoutMs,
    what,
  );
  return { failures, slowest, errors: [...errors] };
}

function run(): void {
  t.test('two nodes racing for the same epoch: exactly one wins, every round', async (t) => {
    const redis = await startRedis();
    t.teardown(() => redis.stop());
    const a = new RedisStore({ url: redis.url, commandTimeoutMs: TIMEOUT, keyPrefix: 'race:' });
    const b = new RedisStore({ url: redis.url, commandTimeoutMs: TIMEOUT, keyPrefix: 'race:' });
    t.teardown(async () => {
      await a.close();
      await b.close();
    });
    await waitFor(() => a.isReachable() && b.isReachable(), 5000, 'both clients ready');
    const first = await a.compareAndSetOwnership(null, { owner: 'a', epoch: epoch(1) });
    t.equal(first.ok, true);
    let aWins = 0;
    const ROUNDS = 300;
    for (let i = 0; i < ROUNDS; i++) {
      const cur = (await a.readOwnership()) as Ownership;
      const next = epoch(cur.epoch + 1);
      // Alternate who sends first so both sides win some rounds.
      const casA = () => a.compareAndSetOwnership(cur.epoch, { owner: 'a', epoch: next });
      const casB = () => b.compareAndSetOwnership(cur.epoch, { owner: 'b', epoch: next });
      const [ra, rb] = i % 2 === 0 ? await Promise.all([casA(), casB()]) : (await Promise.all([casB(), casA()])).reverse();
      if (ra.ok === rb.ok) t.fail(`round ${i}: ${ra.ok ? 'both' : 'neither'} won`);
      const winner = ra.ok ? 'a' : 'b';
      if (winner === 'a') aWins++;
      const stored = await b.readOwnership();
      if (stored?.owner !== winner || stored.epoch !== next) t.fail(`round ${i}: stored ${JSON.stringify(stored)}`);
    }
    t.equal((await a.readOwnership())?.epoch, ROUNDS + 1, `${ROUNDS} rounds, one winner each (a won ${aWins})`);
    t.ok(aWins > 0 && aWins < ROUNDS, 'both nodes won some rounds: the race was real');
  });

  t.test('ready(): the first read after it succeeds; with nothing listening it says so after the connect timeout', async (t) => {
    const redis = await startRedis();
    t.teardown(() => redis.stop());
    const fresh = new RedisStore({ url: redis.url, commandTimeoutMs: TIMEOUT, keyPrefix: 'ready:' });
    t.teardown(() => fresh.close());
    t.equal(await fresh.ready(), true);
    t.equal(await fresh.readOwnership(), null, 'read at once, no "stream not writeable" at start');
    t.equal(await fresh.ready(), true, 'already ready: resolves at once');

    const nobody = new RedisStore({ url: `redis://127.0.0.1:${await freeTcpPort()}`, commandTimeoutMs: TIMEOUT, keyPrefix: 'ready:' });
    t.teardown(() => nobody.close());
    const began = Date.now();
    t.equal(await nobody.ready(), false);
    const waited = Date.now() - began;
    t.ok(waited >= 1000 && waited < 5000, `gave up after the connect timeout (${waited} ms)`);
  });

  t.test('CAS from nothing only when nothing is stored; a stale epoch fails and returns the current owner', async (t) => {
    const s = await storeFor(t, 'cas:');
    t.equal(await s.readOwnership(), null);
    t.match(await s.compareAndSetOwnership(null, { owner: 'a', epoch: epoch(1) }), { ok: true, ownership: { owner: 'a', epoch: 1 } });
    t.match(await s.compareAndSetOwnership(null, { owner: 'b', epoch: epoch(1) }), { ok: false, current: { owner: 'a', epoch: 1 } });
    t.match(await s.compareAndSetOwnership(epoch(1), { owner: 'b', epoch: epoch(2) }), { ok: true });
    t.match(await s.compareAndSetOwnership(epoch(1), { owner: 'a', epoch: epoch(2) }), { ok: false, current: { owner: 'b', epoch: 2 } });
    t.match(await s.compareAndSetOwnership(epoch(2), { owner: 'a', epoch: epoch(2) }), { ok: false }, 'epochs only grow');
  });

  t.test('heartbeats expire with their TTL', async (t) => {
    const s = await storeFor(t, 'hb:');
    const hb = { node: 'a', status: 'healthy' as const, at: Date.now(), epochSeen: epoch(3) };
    await s.writeHeartbeat(hb, 300);
    t.strictSame(await s.readHeartbeat('a'), hb);
    await sleep(600);
    t.equal(await s.readHeartbeat('a'), null);
  });

  t.test('transitions go to a stream, read back oldest first with their evidence', async (t) => {
    const s = await storeFor(t, 'ev:');
    const ev = (n: number) => ({ kind: 'takeover' as const, from: 'a', to: 'b', epoch: epoch(n), by: 'b', at: n, reason: `r${n}`, evidence: { probes: [n] } });
    for (const n of [1, 2, 3]) await s.appendEvent(ev(n));
    t.strictSame(await s.recentEvents(2), [ev(2), ev(3)]);
  });

  t.test('Redis killed or hung: every operation fails within the command timeout, then recovers', async (t) => {
    const redis = await startRedis();
    t.teardown(() => redis.stop());
    const changes: boolean[] = [];
    const s = new RedisStore({ url: redis.url, commandTimeoutMs: TIMEOUT, keyPrefix: 'down:', onReachabilityChange: (up) => changes.push(up) });
    t.teardown(() => s.close());
    await waitFor(() => s.isReachable(), 5000, 'ready');
    const timed = async (what: string, op: () => Promise<unknown>) => {
      const started = Date.now();
      await t.rejects(op, /redis .* failed/, `${what} rejects`);
      const elapsed = Date.now() - started;
      t.ok(elapsed < TIMEOUT + 700, `${what} failed in ${elapsed} ms`);
    };
    redis.pause();
    await timed('read while hung', () => s.readOwnership());
    await timed('CAS while hung', () => s.compareAndSetOwnership(null, { owner: 'a', epoch: epoch(1) }));
    redis.resume();
    await waitFor(async () => (await s.readOwnership().then(() => true, () => false)), 5000, 'recovery after resume');
    await redis.kill();
    await waitFor(() => !s.isReachable(), 3000, 'reachability to drop');
    await timed('read while dead', () => s.readOwnership());
    await timed('heartbeat while dead', () => s.writeHeartbeat({ node: 'a', status: 'healthy', at: 0, epochSeen: epoch(0) }, 1000));
    await redis.restart();
    await waitFor(async () => s.isReachable() && (await s.readOwnership().then(() => true, () => false)), 8000, 'reconnect after restart');
    t.ok(changes.includes(false) && changes.at(-1) === true, `reachability went down and back up (${changes.join(',')})`);
  });

  t.test('through Sentinel: the store finds the master by name and works the same', async (t) => {
    const master = await startRedis();
    t.teardown(() => master.stop());
    const sentinel = await startSentinel(master, 'understudy');
    t.teardown(() => sentinel.stop());
    const s = new RedisStore({ sentinels: [{ host: '127.0.0.1', port: sentinel.port }], sentinelName: 'understudy', commandTimeoutMs: TIMEOUT, keyPrefix: 'sen:' });
    t.teardown(() => s.close());
    await waitFor(() => s.isReachable(), 8000, 'the store to reach the master through Sentinel');
    t.match(await s.compareAndSetOwnership(null, { owner: 'a', epoch: epoch(1) }), { ok: true });
    const direct = new RedisStore({ url: master.url, commandTimeoutMs: TIMEOUT, keyPrefix: 'sen:' });
    t.teardown(() => direct.close());
    await waitFor(() => direct.isReachable(), 5000, 'direct client');
    t.strictSame(await direct.readOwnership(), { owner: 'a', epoch: 1 }, 'written on the master');
  });

  t.test('through Sentinel: the master killed, the store fails fast, then follows the promoted replica with its data', async (t) => {
    const { master, s, onReplica, before, changes } = await sentinelWithReplica(t, 'understudy-failover');
    await master.kill();
    const killedAt = Date.now();
    const wrong: string[] = [];
    const { failures, slowest } = await attemptUntil(
      async () => {
        const o = await s.readOwnership();
        if (o?.owner !== before.owner || o.epoch !== before.epoch) wrong.push(JSON.stringify(o));
        return true;
      },
      20_000,
      'the store to read the ownership from the promoted replica',
    );
    const unavailableMs = Date.now() - killedAt;
    t.comment(`store unavailable for ${unavailableMs} ms after the master was killed (${failures} failed reads)`);
    t.ok(failures > 0, 'reads failed while no master was known: the outage was real');
    t.ok(slowest < TIMEOUT * 5, `no read hung: the slowest took ${slowest} ms`);
    t.strictSame(wrong, [], 'no read returned a wrong ownership');
    t.strictSame(await s.readOwnership(), before, 'the ownership written before the kill survived the failover');
    t.equal(s.isReachable(), true, 'reachable again');
    t.ok(changes.includes(false) && changes.at(-1) === true, `reachability went down and back up (${changes.join(',')})`);
    const after: Ownership = { owner: 'b', epoch: epoch(8) };
    t.match(await s.compareAndSetOwnership(before.epoch, after), { ok: true, ownership: after }, 'CAS with the next epoch succeeds');
    t.strictSame(await onReplica.readOwnership(), after, 'written on the promoted replica');
  });

  t.test('through Sentinel: a planned failover with the old master still up, the store leaves it and writes on the new one', async (t) => {
    const { master, sentinel, s, onReplica, before } = await sentinelWithReplica(t, 'understudy-planned');
    const asked = Date.now();
    t.ok(await sentinel.failover(), 'SENTINEL FAILOVER accepted');
    // Sentinel demotes the old master and drops its clients; until then it still takes writes that the
    // promotion would lose, so this test writes only once it is demoted.
    await waitFor(() => master.isReplica(), 15_000, 'the old master to be demoted');
    const demoted = Date.now() - asked;
    const after: Ownership = { owner: 'b', epoch: epoch(8) };
    const { failures, slowest, errors } = await attemptUntil(
      async () => {
        const r = await s.compareAndSetOwnership(before.epoch, after);
        if (!r.ok) throw new Error(`CAS refused: ${JSON.stringify(r)}`);
        return true;
      },
      20_000,
      'a CAS to land on the new master',
    );
    t.comment(`old master demoted ${demoted} ms after SENTINEL FAILOVER; a CAS landed ${Date.now() - asked} ms after it (${failures} attempts failed first: ${errors.join('; ')})`);
    t.ok(slowest < TIMEOUT * 5, `no attempt hung: the slowest took ${slowest} ms`);
    t.strictSame(await onReplica.readOwnership(), after, 'written on the promoted replica, the new master');
    const onOld = new RedisStore({ url: master.url, commandTimeoutMs: TIMEOUT, keyPrefix: 'fo:' });
    t.teardown(() => onOld.close());
    await waitFor(async () => (await onOld.readOwnership().catch(() => null))?.epoch === after.epoch, 5000, 'the demoted master to replicate it');
    t.equal(s.isReachable(), true, 'reachable');
  });

  t.test('an ACL user: the store logs in with redis.username and redis.password; a wrong one or the disabled default user cannot', async (t) => {
    const redis = await startRedis({ users: ['app on >Ap7pUsrPw ~acl:* +@all', 'default off'] });
    t.teardown(() => redis.stop());
    await roundTrip(t, { url: redis.url, username: 'app', password: 'Ap7pUsrPw' });
    await refused(t, 'a wrong password', { url: redis.url, username: 'app', password: 'Wr0ngPassX' });
    await refused(t, 'no username: the default user is off', { url: redis.url, password: 'Ap7pUsrPw' });
  });

  t.test('requirepass: the password from redis.password or from the URL', async (t) => {
    const redis = await startRedis({ password: 'Rq6wNs3yPb' });
    t.teardown(() => redis.stop());
    await roundTrip(t, { url: redis.url, password: 'Rq6wNs3yPb' });
    await roundTrip(t, { url: `redis://:Rq6wNs3yPb@127.0.0.1:${redis.port}` });
    await refused(t, 'no password', { url: redis.url });
  });

  t.test('TLS: rediss:// with the CA of redis.tls.ca; refused without it, or in plain TCP', async (t) => {
    const cert = selfSignedCert('localhost');
    const redis = await startRedis({ tls: cert, password: 'Rq6wNs3yPb' });
    t.teardown(() => redis.stop());
    t.match(redis.url, /^rediss:/);
    await roundTrip(t, { url: redis.url, password: 'Rq6wNs3yPb', tls: { ca: cert.cert, servername: 'localhost' } });
    await refused(t, 'a self-signed certificate without its CA', { url: redis.url, password: 'Rq6wNs3yPb' });
    await refused(t, 'plain TCP to the TLS port', { url: `redis://127.0.0.1:${redis.port}`, password: 'Rq6wNs3yPb' });
  });

  t.test('through Sentinel with requirepass on the Sentinel and on the master: redis.sentinelPassword and redis.password', async (t) => {
    const master = await startRedis({ password: 'Rq6wNs3yPb' });
    t.teardown(() => master.stop());
    const sentinel = await startSentinel(master, 'understudy-auth', { password: 'Sn7tPq2wLx', masterPassword: 'Rq6wNs3yPb' });
    t.teardown(() => sentinel.stop());
    const via = { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], sentinelName: 'understudy-auth' };
    await roundTrip(t, { ...via, password: 'Rq6wNs3yPb', sentinelPassword: 'Sn7tPq2wLx' });
    await refused(t, 'no sentinelPassword', { ...via, password: 'Rq6wNs3yPb' });
  });
}
