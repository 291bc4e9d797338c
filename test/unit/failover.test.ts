import pino from 'pino';
import t from 'tap';
import { epoch, type Ownership, type SipVerdict } from '../../src/core/types';
import { Failover, type FailoverDelegate } from '../../src/failover';
import { HeartbeatPublisher } from '../../src/heartbeat';
import { MemoryStore } from '../../src/state/memory-store';
import type { StateStore } from '../../src/state/store';
import { FakeClock } from '../support/fake-clock';
import { faulty } from '../support/faulty-store';
import { FakeRegistration } from '../support/fake-registration';

const silent = pino({ level: 'silent' });
const HB = { heartbeatIntervalMs: 1000, staleAfterMs: 3000 };
/** An empty store is claimed only once a live peer would have beaten: two intervals after start. */
const FIRST_CLAIM_MS = 2 * HB.heartbeatIntervalMs;

function node(self: 'a' | 'b', store: StateStore, clock: FakeClock, opts: { ignoreUnreadableOwnership?: boolean; healthy?: boolean } = {}) {
  const registration = new FakeRegistration();
  const alarms = new Map<string, boolean>();
  const transitions: string[] = [];
  const delegate: FailoverDelegate = {
    onOwnership: () => undefined,
    onTransition: (kind, ok) => transitions.push(`${kind}:${ok ? 'ok' : 'lost'}`),
    onStoreError: () => undefined,
    onAlarm: (name, raised) => alarms.set(name, raised),
  };
  const peer = self === 'a' ? 'b' : 'a';
  const heartbeat = new HeartbeatPublisher(
    { self, peer, staleAfterMs: HB.staleAfterMs, settings: {} },
    store,
    clock,
    silent,
    { onStoreError: () => undefined, onPeerHeartbeatAge: () => undefined, onConfigDrift: () => undefined },
    () => opts.healthy ?? true,
  );
  const failover = new Failover(
    { self, peer, primary: 'a', ...HB, ignoreUnreadableOwnership: opts.ignoreUnreadableOwnership ?? false },
    store,
    registration,
    heartbeat,
    clock,
    silent,
    delegate,
  );
  return { failover, registration, alarms, transitions };
}

const dead: SipVerdict = { alive: false, probes: [], decidedAt: 0 };
const deadVerdict = { kind: 'dead' as const, sip: dead, heartbeat: 'stale' as const };

async function started(self: 'a' | 'b', store: StateStore, clock: FakeClock, opts = {}) {
  const n = node(self, store, clock, opts);
  n.failover.start();
  await clock.advance(FIRST_CLAIM_MS);
  return n;
}

t.test('first start: the primary writes ownership at epoch 1 and registers after clearing the AOR', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const a = await started('a', store, clock);
  t.strictSame(await store.readOwnership(), { owner: 'a', epoch: 1 });
  t.strictSame(a.registration.steps, ['clearAll', 'keep']);
  t.equal(a.failover.isOwner(), true);
  t.strictSame((await store.recentEvents(10)).map((e) => e.kind), ['init']);
});

t.test('first start of the secondary: it records the primary as owner and never registers', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const b = await started('b', store, clock);
  t.strictSame(await store.readOwnership(), { owner: 'a', epoch: 1 });
  t.strictSame(b.registration.steps, []);
  t.equal(b.failover.isOwner(), false);
});

t.test('both nodes starting at the same moment agree on one owner', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const a = node('a', store, clock);
  const b = node('b', store, clock);
  a.failover.start();
  b.failover.start();
  await clock.advance(FIRST_CLAIM_MS);
  t.strictSame(await store.readOwnership(), { owner: 'a', epoch: 1 });
  t.equal(a.failover.isOwner(), true);
  t.equal(b.failover.isOwner(), false);
  t.equal((await store.recentEvents(10)).length, 1, 'one init event');
});

t.test('every tick writes a heartbeat with the health and the epoch seen', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  await started('b', store, clock, { healthy: false });
  const hb = await store.readHeartbeat('b');
  t.match(hb, { node: 'b', status: 'unhealthy', epochSeen: 1, at: clock.now() });
  await clock.advance(1000);
  t.equal((await store.readHeartbeat('b'))?.at, clock.now());
});

t.test('takeover: CAS to epoch 2, clear-all, then register; the transition carries its evidence', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const b = await started('b', store, clock);
  const r = await b.failover.takeOver(deadVerdict);
  t.match(r, { ok: true, changed: true, ownership: { owner: 'b', epoch: 2 } });
  t.strictSame(b.registration.steps, ['clearAll', 'keep']);
  t.equal(b.failover.isOwner(), true);
  const events = await store.recentEvents(10);
  t.match(events.at(-1), { kind: 'takeover', from: 'a', to: 'b', epoch: 2, by: 'b', evidence: { kind: 'dead' } });
});

t.test('concurrent takeovers from many overflow calls change ownership once', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const b = await started('b', store, clock);
  const results = await Promise.all([1, 2, 3, 4, 5].map(() => b.failover.takeOver(deadVerdict)));
  t.ok(results.every((r) => r.ok));
  t.equal(results.filter((r) => r.ok && r.changed).length, 1);
  t.strictSame(await store.readOwnership(), { owner: 'b', epoch: 2 });
  t.equal(b.registration.steps.filter((s) => s === 'clearAll').length, 1);
});

for (const refused of ['clearAll', 'keep'] as const) {
  t.test(`takeover refused by the IPBX (${refused}): rolled back, alarm raised, node passive`, async (t) => {
    const clock = new FakeClock();
    const store = new MemoryStore();
    const b = await started('b', store, clock);
    b.registration.refuse[refused] = '403 Forbidden';
    const r = await b.failover.takeOver(deadVerdict);
    t.equal(r.ok, false);
    t.match(r, { message: /403 Forbidden/ });
    t.strictSame(await store.readOwnership(), { owner: 'a', epoch: 3 }, 'epoch only grows: the rollback is a new change');
    t.equal(b.failover.isOwner(), false);
    t.equal(b.registration.maintained, false);
    t.equal(b.alarms.get('takeover_refused'), true);
    t.strictSame((await store.recentEvents(10)).map((e) => e.kind), ['init', 'takeover', 'rollback']);
  });
}

t.test('a takeover that loses the race follows the winner', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  await started('b', store, clock); // the store now holds a at epoch 1
  // Someone else changed ownership after the racer last read it: its CAS must fail.
  const slow: StateStore = Object.assign(Object.create(store) as StateStore, {
    readOwnership: async () => ({ owner: 'a', epoch: epoch(1) }) as Ownership,
  });
  await store.compareAndSetOwnership(epoch(1), { owner: 'a', epoch: epoch(2) });
  const racer = node('b', slow, clock);
  const r = await racer.failover.takeOver(deadVerdict);
  t.equal(r.ok, false);
  t.strictSame(racer.registration.steps, []);
  t.strictSame(racer.failover.ownership, { owner: 'a', epoch: 2 });
  t.equal(racer.failover.isOwner(), false);
  t.strictSame(await store.readOwnership(), { owner: 'a', epoch: 2 }, 'the winner is untouched');
});

t.test('takeover with the store down: the SIP path alone decides, applied locally', async (t) => {
  const clock = new FakeClock();
  const store = faulty(new MemoryStore());
  const b = await started('b', store, clock);
  store.down = true;
  const r = await b.failover.takeOver(deadVerdict);
  t.match(r, { ok: true, ownership: { owner: 'b', epoch: 2 } });
  t.strictSame(b.registration.steps, ['clearAll', 'keep']);
});

t.test('failback from the secondary: it unregisters before ownership moves; a second run changes nothing', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const a = await started('a', store, clock);
  const b = await started('b', store, clock);
  await b.failover.takeOver(deadVerdict);
  await clock.advance(1000); // a sees it lost ownership and unregisters
  t.equal(a.registration.maintained, false);
  b.registration.steps.length = 0;
  const r = await b.failover.handover('failback', 'test');
  t.match(r, { ok: true, changed: true, ownership: { owner: 'a', epoch: 3 } });
  t.strictSame(b.registration.steps, ['unregister']);
  a.registration.steps.length = 0;
  await clock.advance(1000);
  t.strictSame(a.registration.steps, ['clearAll', 'keep'], 'the primary registers on its next tick');
  const again = await b.failover.handover('failback', 'test');
  t.match(again, { ok: true, changed: false, message: /already owns/ });
});

t.test('a node that gains ownership from a live peer waits for the peer to acknowledge the epoch', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const b = await started('b', store, clock);
  // The peer (a) owns and heartbeats at epoch 1; the operator moves ownership to b from elsewhere.
  await store.writeHeartbeat({ node: 'a', status: 'healthy', at: clock.now(), epochSeen: epoch(1) }, 10_000);
  await store.compareAndSetOwnership(epoch(1), { owner: 'b', epoch: epoch(2) });
  await clock.advance(1000);
  t.strictSame(b.registration.steps, [], 'no REGISTER while the old owner may still be registered');
  await store.writeHeartbeat({ node: 'a', status: 'healthy', at: clock.now(), epochSeen: epoch(2) }, 10_000);
  await clock.advance(400);
  t.strictSame(b.registration.steps, ['clearAll', 'keep']);
});

t.test('a node that loses ownership stops refreshing and unregisters on its next tick', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const a = await started('a', store, clock);
  await store.compareAndSetOwnership(epoch(1), { owner: 'b', epoch: epoch(2) });
  await clock.advance(1000);
  t.strictSame(a.registration.steps, ['clearAll', 'keep', 'unregister']);
  t.equal(a.failover.isOwner(), false);
  t.equal((await store.readHeartbeat('a'))?.epochSeen, 2, 'the heartbeat acknowledges the new epoch after unregistering');
});

t.test('ownership unreadable at start: no REGISTER, alarm raised; the override registers the primary', async (t) => {
  const clock = new FakeClock();
  const store = faulty(new MemoryStore());
  store.down = true;
  const a = await started('a', store, clock);
  t.strictSame(a.registration.steps, []);
  t.equal(a.alarms.get('ownership_unreadable'), true);
  store.down = false;
  await clock.advance(1000);
  t.strictSame(a.registration.steps, ['clearAll', 'keep'], 'registers once the store answers');
  t.equal(a.alarms.get('ownership_unreadable'), false);

  const store2 = faulty(new MemoryStore());
  store2.down = true;
  const forced = await started('a', store2, new FakeClock(), { ignoreUnreadableOwnership: true });
  t.strictSame(forced.registration.steps, ['clearAll', 'keep']);
  const secondary = await started('b', store2, new FakeClock(), { ignoreUnreadableOwnership: true });
  t.strictSame(secondary.registration.steps, [], 'the override never registers a secondary');
});

t.test('the store going down after start changes nothing: the owner keeps its registration', async (t) => {
  const clock = new FakeClock();
  const store = faulty(new MemoryStore());
  const a = await started('a', store, clock);
  store.down = true;
  await clock.advance(5000);
  t.strictSame(a.registration.steps, ['clearAll', 'keep']);
  t.equal(a.failover.isOwner(), true);
});

t.test('switchover moves to the other node; with the store down it is refused', async (t) => {
  const clock = new FakeClock();
  const store = faulty(new MemoryStore());
  const a = await started('a', store, clock);
  const r = await a.failover.handover('switchover', 'test');
  t.match(r, { ok: true, changed: true, ownership: { owner: 'b', epoch: 2 } });
  t.strictSame(a.registration.steps, ['clearAll', 'keep', 'unregister']);
  store.down = true;
  const refused = await a.failover.handover('switchover', 'test');
  t.match(refused, { ok: false, message: /unreachable/ });
});

t.test('a drachtio connection before start() reads nothing: ownership is applied by start(), once the store is up', async (t) => {
  const clock = new FakeClock();
  const store = faulty(new MemoryStore());
  store.down = true; // Redis still connecting
  const a = node('a', store, clock);
  await a.failover.resync();
  await clock.advance(0);
  t.strictSame(a.registration.steps, [], 'no REGISTER');
  t.equal(a.alarms.get('ownership_unreadable'), undefined, 'no alarm for a store that was never asked');
  store.down = false;
  a.failover.start();
  await clock.advance(FIRST_CLAIM_MS);
  t.strictSame(a.registration.steps, ['clearAll', 'keep'], 'start() registers');
  a.failover.stop();
  await a.failover.resync();
  t.strictSame(a.registration.steps, ['clearAll', 'keep'], 'after stop() a reconnect changes nothing either');
});

t.test('the store restarts without its data after a takeover: the owner writes its epoch back, nobody fails back', async (t) => {
  const clock = new FakeClock();
  const store = faulty(new MemoryStore());
  const a = await started('a', store, clock);
  const b = await started('b', store, clock);
  t.match(await b.failover.takeOver(deadVerdict), { ok: true, ownership: { owner: 'b', epoch: 2 } });
  await clock.advance(HB.heartbeatIntervalMs);
  t.equal(a.registration.maintained, false, 'a unregistered after the takeover');
  const bSteps = b.registration.steps.length;
  store.replace(new MemoryStore());
  await clock.advance(3 * HB.heartbeatIntervalMs);
  t.strictSame(await store.readOwnership(), { owner: 'b', epoch: 2 }, 'ownership restored at the same epoch');
  t.equal(b.failover.isOwner(), true);
  t.equal(a.failover.isOwner(), false);
  t.equal(a.registration.maintained, false, 'the primary did not register');
  t.strictSame(b.registration.steps.slice(bSteps), [], 'the owner did not unregister or register again');
  t.match(await store.recentEvents(10), [{ kind: 'restore', to: 'b', epoch: 2 }]);
});

t.test('a store that lost its last writes (an older epoch) gets the newest one back; epochs never go backwards', async (t) => {
  const clock = new FakeClock();
  const store = faulty(new MemoryStore());
  const a = await started('a', store, clock);
  const b = await started('b', store, clock);
  await b.failover.takeOver(deadVerdict);
  await clock.advance(HB.heartbeatIntervalMs);
  const stale = new MemoryStore();
  await stale.compareAndSetOwnership(null, { owner: 'a', epoch: epoch(1) });
  store.replace(stale);
  await clock.advance(2 * HB.heartbeatIntervalMs);
  t.strictSame(await store.readOwnership(), { owner: 'b', epoch: 2 });
  t.equal(a.failover.isOwner(), false, 'the primary never followed epoch 1 again');
  t.equal(a.registration.maintained, false);
  t.equal(b.failover.isOwner(), true);
});

t.test("a primary restarting while the store is empty does not claim while the peer's heartbeat says the peer owns", async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  // The store came back empty but for b's heartbeat: b owned at epoch 2 and has not written ownership back yet.
  await store.writeHeartbeat({ node: 'b', status: 'healthy', at: clock.now(), epochSeen: epoch(2), ownerSeen: 'b' }, 10_000);
  const a = node('a', store, clock);
  a.failover.start();
  await clock.advance(0);
  t.strictSame(await store.readOwnership(), { owner: 'b', epoch: 2 }, "the peer's ownership, not a claim at epoch 1");
  t.equal(a.failover.isOwner(), false);
  t.strictSame(a.registration.steps, [], 'no REGISTER');
});

t.test('first start with an empty store and no peer heartbeat: the primary waits two heartbeat intervals, then claims', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const a = node('a', store, clock);
  a.failover.start();
  await clock.advance(FIRST_CLAIM_MS - 1);
  t.equal(await store.readOwnership(), null, 'nothing claimed before');
  t.strictSame(a.registration.steps, []);
  t.equal(a.alarms.get('ownership_unreadable'), undefined, 'waiting is not an unreadable store');
  await clock.advance(1);
  t.strictSame(await store.readOwnership(), { owner: 'a', epoch: 1 });
  t.strictSame(a.registration.steps, ['clearAll', 'keep']);
});

t.test('a thawed owner asks before its overdue refresh: ownership read afresh, the peer owns, it unregisters and says no', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const a = await started('a', store, clock);
  // The peer took over while this process was frozen: no tick has run since.
  await store.compareAndSetOwnership(epoch(1), { owner: 'b', epoch: epoch(2) });
  t.equal(a.failover.isOwner(), true, 'still believes it owns');
  t.equal(await a.failover.stillOwner(), false);
  t.strictSame(a.registration.steps, ['clearAll', 'keep', 'unregister']);
  t.strictSame(a.failover.ownership, { owner: 'b', epoch: 2 });
});

t.test('an owner that stepped down on a foreign contact is not registered again by the reconcile loop', async (t) => {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const a = await started('a', store, clock);
  a.registration.maintained = false;
  a.registration.steppedDown = true;
  await clock.advance(10 * HB.heartbeatIntervalMs);
  t.strictSame(a.registration.steps, ['clearAll', 'keep'], 'no keep() after stepping down');
  t.equal(await a.failover.stillOwner(), true, 'it still owns: the operator decides');
});
