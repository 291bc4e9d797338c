import t from 'tap';
import { initialOwnership, planMove, registrationIntent, type RegistrationIntent } from '../../src/core/ownership';
import { epoch, nextEpoch, type Ownership } from '../../src/core/types';

const A = 'node-a';
const B = 'node-b';

function owned(owner: string, e: number): Ownership {
  return { owner, epoch: epoch(e) };
}

t.test('epoch() accepts non-negative safe integers only', async (t) => {
  t.equal(epoch(0), 0);
  t.equal(epoch(7), 7);
  t.equal(nextEpoch(epoch(7)), 8);
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
    t.throws(() => epoch(bad), RangeError, String(bad));
  }
  t.throws(() => nextEpoch(epoch(Number.MAX_SAFE_INTEGER)), RangeError, 'the epoch cannot run past the safe range');
});

t.test('initialOwnership: the configured primary owns at epoch 1', async (t) => {
  t.strictSame(initialOwnership(A), { owner: A, epoch: 1 });
});

t.test('planMove from no ownership at all writes epoch 1 expecting nothing', async (t) => {
  t.strictSame(planMove(null, B), { kind: 'change', expected: null, next: { owner: B, epoch: 1 } });
});

t.test('planMove to the current owner is a noop naming owner and epoch', async (t) => {
  const plan = planMove(owned(A, 5), A);
  t.equal(plan.kind, 'noop');
  if (plan.kind === 'noop') {
    t.match(plan.reason, /node-a/);
    t.match(plan.reason, /\b5\b/);
  }
});

t.test('planMove to the other node bumps the epoch and expects the current one', async (t) => {
  t.strictSame(planMove(owned(A, 5), B), { kind: 'change', expected: 5, next: { owner: B, epoch: 6 } });
});

t.test('switchover and failback are idempotent: once applied, planning again is a noop', async (t) => {
  let current: Ownership = initialOwnership(A);
  const epochs: number[] = [current.epoch];
  for (const to of [B, B, A, A, B]) {
    const plan = planMove(current, to);
    if (plan.kind === 'change') {
      t.equal(plan.expected, current.epoch, `moving to ${to} expects the epoch it read`);
      current = plan.next;
      epochs.push(current.epoch);
    } else {
      t.equal(current.owner, to, `the noop is for the node that already owns (${to})`);
    }
  }
  t.strictSame(current, { owner: B, epoch: 4 });
  t.strictSame(epochs, [1, 2, 3, 4], 'one epoch per actual change of owner');
});

t.test('planMove does not alter the ownership it was given', async (t) => {
  const current = owned(A, 2);
  planMove(current, B);
  t.strictSame(current, { owner: A, epoch: 2 });
});

t.test('registrationIntent, every combination', async (t) => {
  // [ignoreUnreadableOwnership, isPrimary, intent when ownership is unreadable]
  const rows: ReadonlyArray<readonly [boolean, boolean, RegistrationIntent]> = [
    [false, false, 'hold'],
    [false, true, 'hold'],
    [true, false, 'hold'],
    [true, true, 'register'],
  ];
  for (const [ignoreUnreadableOwnership, isPrimary, whenUnreadable] of rows) {
    const o = { ignoreUnreadableOwnership, isPrimary };
    const label = `ignoreUnreadable=${ignoreUnreadableOwnership} primary=${isPrimary}`;
    t.equal(registrationIntent(A, owned(A, 3), o), 'register', `owns → register (${label})`);
    t.equal(registrationIntent(A, owned(B, 3), o), 'unregister', `peer owns → unregister (${label})`);
    t.equal(registrationIntent(A, 'unreadable', o), whenUnreadable, `unreadable → ${whenUnreadable} (${label})`);
  }
});
