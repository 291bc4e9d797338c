import t from 'tap';
import { ChannelGate } from '../../src/core/channels';

/** Acquires until refused or `max` tries, returning how many succeeded. */
function fill(gate: ChannelGate, max = 100): number {
  let n = 0;
  while (n < max && gate.tryAcquire()) n++;
  return n;
}

t.test('acquires up to the limit, then refuses', async (t) => {
  const gate = new ChannelGate(3);
  t.equal(gate.inUse, 0);
  t.equal(fill(gate), 3);
  t.equal(gate.inUse, 3);
  t.notOk(gate.tryAcquire(), 'full');
  t.equal(gate.inUse, 3, 'a refusal does not count');
});

t.test('a release frees exactly one channel', async (t) => {
  const gate = new ChannelGate(2);
  fill(gate);
  gate.release();
  t.equal(gate.inUse, 1);
  t.ok(gate.tryAcquire());
  t.notOk(gate.tryAcquire());
});

t.test('release below zero is a no-op', async (t) => {
  const gate = new ChannelGate(2);
  gate.release();
  gate.release();
  t.equal(gate.inUse, 0);
  t.equal(fill(gate), 2, 'extra releases do not grant extra channels');
  for (let i = 0; i < 5; i++) gate.release();
  t.equal(gate.inUse, 0);
  t.equal(fill(gate), 2);
});

t.test('a limit of zero refuses every call', async (t) => {
  const gate = new ChannelGate(0);
  t.notOk(gate.tryAcquire());
  t.equal(gate.inUse, 0);
});

t.test('a limit of one', async (t) => {
  const gate = new ChannelGate(1);
  t.ok(gate.tryAcquire());
  t.notOk(gate.tryAcquire());
  gate.release();
  t.ok(gate.tryAcquire());
});
