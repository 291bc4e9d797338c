import t from 'tap';
import { ANSWERING, type LinkState, linkStep, pingsOverdue } from '../../src/core/link-watchdog';

const OPTS = { maxUnanswered: 2, replaceAfterMs: 30_000 };

/** Feeds (unanswered, now) ticks from `start`, returns the actions taken. */
function run(ticks: readonly [number, number][], start: LinkState = ANSWERING): string[] {
  let state = start;
  return ticks.map(([unanswered, now]) => {
    const step = linkStep(state, unanswered, now, OPTS);
    state = step.state;
    return step.action;
  });
}

t.test('a few pings in flight are normal; one more than the limit marks the link silent, once', async (t) => {
  t.strictSame(run([[0, 0], [1, 1000], [2, 2000], [3, 3000], [4, 4000]]), ['none', 'none', 'none', 'silent', 'none']);
});

t.test('a silent server that answers every ping again resumes on the same connection', async (t) => {
  t.strictSame(run([[3, 0], [4, 5000], [1, 6000], [0, 7000], [0, 8000]]), ['silent', 'none', 'none', 'answering', 'none'], 'only when none is outstanding');
});

t.test('silence lasting replaceAfterMs replaces the connection, counted from when it was noticed', async (t) => {
  t.strictSame(run([[3, 10_000], [5, 39_999], [6, 40_000], [0, 41_000]]), ['silent', 'none', 'replace', 'none']);
});

t.test('after a replacement a new silence is timed afresh', async (t) => {
  t.strictSame(run([[3, 0], [3, 30_000], [3, 31_000], [3, 60_000], [3, 61_000]]), ['silent', 'replace', 'silent', 'none', 'replace']);
});

t.test('pings are overdue only after two intervals without one since connecting', async (t) => {
  t.notOk(pingsOverdue(1000, false, 1000 + 9_999, 5000), 'just short of two intervals');
  t.ok(pingsOverdue(1000, false, 1000 + 10_000, 5000), 'two intervals, no ping');
  t.notOk(pingsOverdue(1000, true, 1000 + 60_000, 5000), 'a ping was sent: never overdue');
});
