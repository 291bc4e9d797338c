import t from 'tap';
import { LastingFault } from '../../src/core/lasting-fault';

t.test('a fault is reported as it starts, every reminder interval while it lasts, and once as it ends', async (t) => {
  const f = new LastingFault(60_000);
  t.equal(f.recover(0), null, 'no fault, nothing to end');
  t.strictSame(f.fail(1000), { kind: 'started' });
  t.ok(f.active);
  const quiet = [2000, 30_000, 60_999].map((now) => f.fail(now));
  t.strictSame(quiet, [null, null, null], 'failures between reminders say nothing');
  t.strictSame(f.fail(61_000), { kind: 'lasting', forMs: 60_000, failures: 5 });
  t.equal(f.fail(62_000), null, 'the next reminder is counted from the last one');
  t.strictSame(f.fail(121_000), { kind: 'lasting', forMs: 120_000, failures: 7 });
  t.strictSame(f.recover(130_000), { kind: 'ended', lastedMs: 129_000, failures: 7 });
  t.notOk(f.active);
  t.equal(f.recover(131_000), null, 'ended once');
  t.strictSame(f.fail(200_000), { kind: 'started' }, 'a new fault starts afresh');
  t.strictSame(f.recover(201_000), { kind: 'ended', lastedMs: 1000, failures: 1 });
});
