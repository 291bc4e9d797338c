import pino from 'pino';
import t from 'tap';
import { epoch } from '../../src/core/types';
import { HeartbeatPublisher } from '../../src/heartbeat';
import { MemoryStore } from '../../src/state/memory-store';
import { FakeClock } from '../support/fake-clock';
import { faulty } from '../support/faulty-store';

function publisher(peer: string | null, settings: Record<string, string> = { mode: 'h1' }) {
  const clock = new FakeClock();
  const store = faulty(new MemoryStore());
  const ages: Array<number | null> = [];
  const errors: string[] = [];
  const drifts: string[][] = [];
  const hb = new HeartbeatPublisher(
    { self: 'b', peer, staleAfterMs: 3000, settings },
    store,
    clock,
    pino({ level: 'silent' }),
    { onStoreError: (op) => errors.push(op), onPeerHeartbeatAge: (s) => ages.push(s), onConfigDrift: (keys) => drifts.push([...keys]) },
    () => true,
  );
  return { hb, clock, store, ages, errors, drifts };
}

t.test('a beat writes status, time and the ownership seen, and reads the peer age back', async (t) => {
  const { hb, clock, store, ages } = publisher('a');
  await store.writeHeartbeat({ node: 'a', status: 'healthy', at: clock.now(), epochSeen: epoch(1) }, 10_000);
  await clock.advance(1500);
  await hb.beat({ owner: 'a', epoch: epoch(2) });
  t.strictSame(await store.readHeartbeat('b'), { node: 'b', status: 'healthy', at: clock.now(), epochSeen: 2, ownerSeen: 'a', settings: { mode: 'h1' } });
  t.equal(hb.peerAgeSec, 1.5);
  t.strictSame(ages, [1.5]);
});

t.test('no peer heartbeat, no peer, or no store: the age is unknown', async (t) => {
  const absent = publisher('a');
  await absent.hb.beat({ owner: 'a', epoch: epoch(1) });
  t.equal(absent.hb.peerAgeSec, null);
  const single = publisher(null);
  await single.hb.beat({ owner: 'a', epoch: epoch(1) });
  t.equal(single.hb.peerAgeSec, null);
  const down = publisher('a');
  down.store.down = true;
  await down.hb.beat({ owner: 'a', epoch: epoch(1) });
  t.strictSame(down.ages, [null]);
  t.strictSame(down.errors, ['heartbeat']);
});

t.test('before it knows any ownership a node beats epoch 0 and no owner', async (t) => {
  const { hb, clock, store } = publisher('a');
  await hb.beat(null);
  t.strictSame(await store.readHeartbeat('b'), { node: 'b', status: 'healthy', at: clock.now(), epochSeen: 0, settings: { mode: 'h1' } });
});

t.test('the peer\'s settings fingerprint is compared at each beat; a change is reported once', async (t) => {
  const { hb, clock, store, drifts } = publisher('a', { mode: 'h1', 'verification.attempts': 'x3' });
  const peerBeat = (settings?: Record<string, string>) =>
    store.writeHeartbeat({ node: 'a', status: 'healthy', at: clock.now(), epochSeen: epoch(1), ...(settings ? { settings } : {}) }, 10_000);
  const seen = { owner: 'a', epoch: epoch(1) };
  await peerBeat();
  await hb.beat(seen);
  t.equal(hb.settingsDrift, null, 'a peer that publishes no settings is not compared');
  await peerBeat({ mode: 'h1', 'verification.attempts': 'x2' });
  await hb.beat(seen);
  await hb.beat(seen);
  t.strictSame(hb.settingsDrift, ['verification.attempts']);
  await peerBeat({ mode: 'h1', 'verification.attempts': 'x3' });
  await hb.beat(seen);
  t.strictSame(hb.settingsDrift, []);
  t.strictSame(drifts, [['verification.attempts'], []], 'one report per change, not per beat');
});
