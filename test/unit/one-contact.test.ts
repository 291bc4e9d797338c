import t from 'tap';
import {
  type AcquireNext,
  type AcquireStep,
  firstAcquireStep,
  nextAcquireStep,
  peerReleased,
  rollbackMove,
  type StepOutcome,
} from '../../src/core/one-contact';
import { epoch, type Heartbeat, type Ownership } from '../../src/core/types';

const own = (owner: string, e: number): Ownership => ({ owner, epoch: epoch(e) });
const clear: AcquireNext = { kind: 'step', step: { kind: 'clear-all' } };
const register: AcquireNext = { kind: 'step', step: { kind: 'register' } };

t.test('acquiring waits for the previous owner only when one may still hold the contact', async (t) => {
  const table: ReadonlyArray<readonly [string, Ownership | null, boolean, AcquireNext]> = [
    ['takeover from a dead owner', null, true, clear],
    ['first ownership ever (epoch 1)', own('a', 1), true, clear],
    ['moved from a live peer', own('b', 4), true, { kind: 'step', step: { kind: 'await-release', epoch: epoch(4) } }],
    ['single-node: nobody to wait for', own('a', 4), false, clear],
  ];
  for (const [name, previous, hasPeer, expected] of table) t.strictSame(firstAcquireStep(previous, hasPeer), expected, name);
});

t.test('clear the AOR, then register; a refusal stops the sequence and says which REGISTER', async (t) => {
  const ok: StepOutcome = { ok: true };
  const table: ReadonlyArray<readonly [AcquireStep, StepOutcome, AcquireNext]> = [
    [{ kind: 'await-release', epoch: epoch(2) }, ok, clear],
    [{ kind: 'clear-all' }, ok, register],
    [{ kind: 'clear-all' }, { ok: false, reason: '403 Forbidden' }, { kind: 'refused', message: 'clear-all REGISTER refused: 403 Forbidden' }],
    [{ kind: 'clear-all' }, { ok: false }, { kind: 'refused', message: 'clear-all REGISTER refused: no reason' }],
    [{ kind: 'register' }, ok, { kind: 'acquired' }],
    [{ kind: 'register' }, { ok: false, reason: 'timeout' }, { kind: 'refused', message: 'REGISTER refused: timeout' }],
  ];
  for (const [done, outcome, expected] of table) {
    t.strictSame(nextAcquireStep(done, outcome), expected, `${done.kind} ${outcome.ok ? 'ok' : 'refused'}`);
  }
});

t.test('no REGISTER is ever sent before the AOR is cleared', async (t) => {
  for (const previous of [null, own('b', 1), own('b', 7)]) {
    const sent: string[] = [];
    let next = firstAcquireStep(previous, true);
    while (next.kind === 'step') {
      sent.push(next.step.kind);
      next = nextAcquireStep(next.step, { ok: true });
    }
    t.equal(sent.indexOf('clear-all'), sent.indexOf('register') - 1, `from ${JSON.stringify(previous)}: ${sent.join(' → ')}`);
    t.notOk(sent.slice(sent.indexOf('clear-all')).includes('await-release'), 'no waiting after clearing');
  }
});

t.test('the previous owner has let go when its heartbeat acknowledges, is gone, is stale, or cannot be read', async (t) => {
  const now = 100_000;
  const hb = (epochSeen: number, age: number): Heartbeat => ({ node: 'a', status: 'healthy', at: now - age, epochSeen: epoch(epochSeen) });
  const table: ReadonlyArray<readonly [string, Heartbeat | null | 'unreadable', boolean]> = [
    ['acknowledged the awaited epoch', hb(3, 0), true],
    ['acknowledged a later epoch', hb(4, 0), true],
    ['fresh, still at the old epoch', hb(2, 0), false],
    ['fresh at the stale limit', hb(2, 3000), false],
    ['stale, at the old epoch', hb(2, 3001), true],
    ['heartbeat gone', null, true],
    ['store unreadable', 'unreadable', true],
  ];
  for (const [name, heartbeat, released] of table) t.equal(peerReleased(heartbeat, epoch(3), now, 3000), released, name);
});

t.test('a refused takeover hands ownership back at a new epoch', async (t) => {
  t.strictSame(rollbackMove(own('b', 2), 'a'), { kind: 'change', expected: 2, next: { owner: 'a', epoch: 3 } });
});
