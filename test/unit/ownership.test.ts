import t from 'tap';
import { initialOwnership, planMove, reconcileStoredOwnership, registrationIntent, type RegistrationIntent, type StoredOwnershipContext } from '../../src/core/ownership';
import type { Heartbeat } from '../../src/core/types';
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

t.test('reconcileStoredOwnership: the newest ownership anyone knows wins, and an empty store is claimed only by the primary, late', async (t) => {
  const NOW = 100_000;
  const ctx: StoredOwnershipContext = { known: null, peerHeartbeat: null, now: NOW, staleAfterMs: 3000, primary: A, peerHadTimeToBeat: true };
  const beat = (ownerSeen: string | undefined, e: number, ageMs: number): Heartbeat => ({
    node: B,
    status: 'healthy',
    at: NOW - ageMs,
    epochSeen: epoch(e),
    ...(ownerSeen === undefined ? {} : { ownerSeen }),
  });
  const cases: [string, Ownership | null, Partial<StoredOwnershipContext>, unknown][] = [
    ['stored, nothing known: follow it', owned(B, 2), {}, { kind: 'follow', ownership: { owner: B, epoch: 2 } }],
    ['stored as new as what we knew: follow it', owned(B, 2), { known: owned(B, 2) }, { kind: 'follow', ownership: { owner: B, epoch: 2 } }],
    ['stored newer than what we knew (a handover we missed): follow it', owned(A, 3), { known: owned(B, 2) }, { kind: 'follow', ownership: { owner: A, epoch: 3 } }],
    [
      'stored older than what we knew (a replica that missed writes): write ours back over it',
      owned(A, 1),
      { known: owned(B, 2) },
      { kind: 'write', transition: 'restore', expected: 1, next: { owner: B, epoch: 2 } },
    ],
    ['store empty, we knew: write it back', null, { known: owned(B, 2) }, { kind: 'write', transition: 'restore', expected: null, next: { owner: B, epoch: 2 } }],
    [
      "store empty, nothing known, the peer's fresh heartbeat follows B at 2: write that, never claim",
      null,
      { peerHeartbeat: beat(B, 2, 500) },
      { kind: 'write', transition: 'restore', expected: null, next: { owner: B, epoch: 2 } },
    ],
    [
      "store empty, we knew 2, the peer's heartbeat follows 3: the newer wins",
      null,
      { known: owned(B, 2), peerHeartbeat: beat(A, 3, 500) },
      { kind: 'write', transition: 'restore', expected: null, next: { owner: A, epoch: 3 } },
    ],
    ["store empty, the peer's heartbeat is stale: it says nothing; first start", null, { peerHeartbeat: beat(B, 2, 3001) }, { kind: 'write', transition: 'init', expected: null, next: { owner: A, epoch: 1 } }],
    ['store empty, the peer knows no owner (epoch 0): first start', null, { peerHeartbeat: beat(undefined, 0, 100) }, { kind: 'write', transition: 'init', expected: null, next: { owner: A, epoch: 1 } }],
    ['store empty, nobody knows anything, the peer may not have beaten yet: wait', null, { peerHadTimeToBeat: false }, { kind: 'wait' }],
  ];
  for (const [name, stored, over, expected] of cases) t.match(reconcileStoredOwnership(stored, { ...ctx, ...over }), expected, name);
  t.match(
    reconcileStoredOwnership(owned(A, 1), { ...ctx, known: owned(B, 2) }),
    { reason: 'the store holds epoch 1, this node knew node-b at epoch 2: the store lost writes' },
    'the reason says what happened',
  );
});
