import pino from 'pino';
import t from 'tap';
import { AppHealth } from '../../src/app-health';
import { type HealthEvent, type HealthEvidence, healthStep, UNKNOWN_HEALTH } from '../../src/core/health-evidence';
import type { ProbeAnswer, SendProbe } from '../../src/core/probe';
import { FakeClock } from '../support/fake-clock';

const run = (events: readonly HealthEvent[], from: HealthEvidence = UNKNOWN_HEALTH, failuresToDown = 2): boolean[] => {
  let state = from;
  return events.map((e) => (state = healthStep(state, e, failuresToDown)).healthy);
};

t.test('healthStep: one answer makes the app healthy, and one piece of evidence alone never makes it unhealthy', async (t) => {
  t.strictSame(run(['probe-answered']), [true], 'the first answer');
  t.strictSame(run(['probe-failed']), [false], 'never answered: not healthy');
  t.strictSame(run(['probe-answered', 'probe-failed', 'probe-answered']), [true, true, true], 'one lost probe changes nothing');
  t.strictSame(run(['probe-answered', 'probe-failed', 'probe-failed']), [true, true, false], 'two failed probes in a row');
  t.strictSame(run(['probe-answered', 'call-failed', 'probe-answered']), [true, true, true], 'a failed call, then an answer: the failure was the call');
  t.strictSame(run(['probe-answered', 'call-failed', 'probe-failed']), [true, true, false], 'a failed call and a failed probe after it');
  t.strictSame(run(['probe-answered', 'call-failed', 'call-failed']), [true, true, true], 'failed calls alone do not decide');
  t.strictSame(run(['probe-answered', 'probe-failed', 'probe-failed', 'probe-answered']), [true, true, false, true], 'back at the first answer');
  t.strictSame(run(['probe-answered', 'probe-failed'], UNKNOWN_HEALTH, 1), [true, false], 'failuresToDown 1: the former behaviour');
});

function appHealth(failuresToDown = 2) {
  const clock = new FakeClock();
  let answer: ProbeAnswer | 'silence' = { status: 200 };
  let probes = 0;
  const send: SendProbe = () => {
    probes += 1;
    const a = answer;
    if (a === 'silence') return new Promise<ProbeAnswer>(() => undefined);
    return new Promise<ProbeAnswer>((resolve) => clock.setTimer(1, () => resolve(a)));
  };
  const changes: boolean[] = [];
  const health = new AppHealth(send, { intervalMs: 2000, timeoutMs: 300, failuresToDown }, clock, pino({ level: 'silent' }), { onChange: (h) => changes.push(h) });
  return {
    clock,
    health,
    changes,
    probes: () => probes,
    answer: (a: ProbeAnswer | 'silence') => {
      answer = a;
    },
  };
}

t.test('a call that fails to reach the app makes it look at once, not at the next tick', async (t) => {
  const h = appHealth();
  h.health.start();
  await h.clock.advance(10);
  t.strictSame(h.changes, [true]);
  h.answer({ status: 503 }); // the app is gone; drachtio answers for its address
  const before = h.probes();
  h.health.callFailed();
  await h.clock.advance(5);
  t.equal(h.probes(), before + 1, 'probed again at once');
  t.strictSame(h.changes, [true, false], 'the failed call and the failed probe: unhealthy within 5 ms, not 2 s');
});

t.test('a burst of failed calls costs one probe in flight, not one each', async (t) => {
  const h = appHealth();
  h.health.start();
  await h.clock.advance(10);
  h.answer('silence');
  const before = h.probes();
  for (let i = 0; i < 20; i++) h.health.callFailed();
  t.equal(h.probes(), before + 1);
  await h.clock.advance(300);
  t.strictSame(h.changes, [true, false]);
});

t.test('one lost health probe leaves the app healthy; the next answer keeps it so', async (t) => {
  const h = appHealth();
  h.health.start();
  await h.clock.advance(10);
  h.answer('silence');
  await h.clock.advance(2000 + 300);
  t.equal(h.health.isHealthy, true, 'one probe lost');
  h.answer({ status: 200 });
  await h.clock.advance(2000);
  t.strictSame(h.changes, [true], 'never reported down');
});
