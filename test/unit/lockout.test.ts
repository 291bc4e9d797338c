import t from 'tap';
import { Lockout } from '../../src/core/lockout';

const PERIOD = 300_000;
const opts = { maxFailures: 3, periodMs: PERIOD };

t.test('three failures lock the source for the period, even for the right token', async (t) => {
  const l = new Lockout(opts);
  t.same(l.recordFailure('10.0.0.1', 0), { lockedNow: false });
  t.same(l.recordFailure('10.0.0.1', 1000), { lockedNow: false });
  t.notOk(l.isLocked('10.0.0.1', 1500));
  t.same(l.recordFailure('10.0.0.1', 2000), { lockedNow: true }, 'the third failure trips the lock');
  t.ok(l.isLocked('10.0.0.1', 2000));
  l.recordSuccess('10.0.0.1');
  t.ok(l.isLocked('10.0.0.1', 3000), 'a success does not lift the lock');
  t.same(l.recordFailure('10.0.0.1', 4000), { lockedNow: false }, 'a locked source is counted as locked once');
  t.ok(l.isLocked('10.0.0.1', 2000 + PERIOD - 1), 'still locked just before the period ends');
  t.notOk(l.isLocked('10.0.0.1', 2000 + PERIOD), 'unlocked when the period ends');
});

t.test('failures after a lock expires start from zero', async (t) => {
  const l = new Lockout(opts);
  for (const at of [0, 1, 2]) l.recordFailure('a', at);
  t.same(l.recordFailure('a', 2 + PERIOD), { lockedNow: false });
  t.same(l.recordFailure('a', 3 + PERIOD), { lockedNow: false });
  t.same(l.recordFailure('a', 4 + PERIOD), { lockedNow: true });
});

t.test('other sources are unaffected', async (t) => {
  const l = new Lockout(opts);
  for (const at of [0, 1, 2]) l.recordFailure('10.0.0.1', at);
  t.ok(l.isLocked('10.0.0.1', 3));
  t.notOk(l.isLocked('10.0.0.2', 3));
  t.same(l.recordFailure('10.0.0.2', 4), { lockedNow: false }, 'its own count starts at one');
});

t.test('a success resets the count', async (t) => {
  const l = new Lockout(opts);
  l.recordFailure('a', 0);
  l.recordFailure('a', 1);
  l.recordSuccess('a');
  t.same(l.recordFailure('a', 2), { lockedNow: false });
  t.same(l.recordFailure('a', 3), { lockedNow: false });
  t.same(l.recordFailure('a', 4), { lockedNow: true });
});

t.test('failures spread over more than one period do not lock', async (t) => {
  const l = new Lockout(opts);
  l.recordFailure('a', 0);
  l.recordFailure('a', PERIOD - 1);
  t.same(l.recordFailure('a', PERIOD), { lockedNow: false }, 'the window of the first failure is over');
  t.same(l.recordFailure('a', PERIOD + 1), { lockedNow: false });
  t.same(l.recordFailure('a', PERIOD + 2), { lockedNow: true });
});

t.test('maxFailures 1 locks on the first failure', async (t) => {
  const l = new Lockout({ maxFailures: 1, periodMs: 10 });
  t.same(l.recordFailure('a', 0), { lockedNow: true });
  t.ok(l.isLocked('a', 9));
  t.notOk(l.isLocked('a', 10));
});

t.test('memory is bounded', async (t) => {
  const l = new Lockout({ ...opts, maxSources: 3 });
  for (const at of [0, 1, 2]) l.recordFailure('locked', at);
  l.recordFailure('b', 3);
  l.recordFailure('c', 4);
  l.recordFailure('c', 5);
  t.equal(l.size, 3);
  l.recordFailure('d', 6);
  t.equal(l.size, 3, 'the cap holds');
  t.notOk(l.isLocked('locked', 7), 'the least recently touched source was forgotten');

  l.recordFailure('b', 8);
  l.recordFailure('e', 9);
  t.same(l.recordFailure('c', 10), { lockedNow: false }, 'c was evicted, so this is its first failure again');
  t.same(l.recordFailure('b', 11), { lockedNow: true }, 'b was touched recently and kept its count');

  l.recordSuccess('c');
  t.equal(l.size, 2, 'a success forgets the source');
  l.isLocked('e', 9 + PERIOD);
  t.equal(l.size, 1, 'an expired source is dropped when next seen');
});

t.test('the default cap is 10000 sources', async (t) => {
  const l = new Lockout(opts);
  for (let i = 0; i < 10_050; i++) l.recordFailure(`s${i}`, i);
  t.equal(l.size, 10_000);
  t.same(l.recordFailure('s0', 20_000), { lockedNow: false }, 'the oldest were evicted');
});
