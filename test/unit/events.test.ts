import pino from 'pino';
import t from 'tap';
import { Agent } from '../../src/agent';
import { formatEvents, parseSince } from '../../src/admin/events-view';
import { buildAdminServer } from '../../src/admin/server';
import { validateConfig } from '../../src/config/load';
import { epoch, type TransitionEvent } from '../../src/core/types';
import { singleNodeConfig } from '../support/config-fixture';

const AT = Date.parse('2026-11-22T11:31:57.871Z');

const takeover: TransitionEvent = {
  kind: 'takeover',
  from: 'node-a',
  to: 'node-b',
  epoch: epoch(2),
  by: 'node-b',
  at: AT,
  reason: 'owner found dead',
  evidence: {
    kind: 'dead',
    heartbeat: 'stale',
    sip: {
      alive: false,
      decidedAt: AT,
      probes: [
        { attempt: 1, outcome: 'no-answer', rttMs: 1000, at: AT - 2400 },
        { attempt: 2, outcome: 'not-alive', status: 503, rttMs: 3, at: AT - 1200 },
      ],
    },
  },
};
const failback: TransitionEvent = { kind: 'failback', from: 'node-b', to: 'node-a', epoch: epoch(3), by: 'node-b', at: AT + 60_000, reason: 'requested by admin API (127.0.0.1)' };

t.test('--since reads a duration back from now or a date', async (t) => {
  t.equal(parseSince('15m', AT), AT - 900_000);
  t.equal(parseSince('2h', AT), AT - 7_200_000);
  t.equal(parseSince('1d', AT), AT - 86_400_000);
  t.equal(parseSince('2026-11-22T11:31:57.871Z', 0), AT);
  t.equal(parseSince('yesterday-ish', AT), null);
});

t.test('each transition on one line, the verdict and every probe under a takeover', async (t) => {
  t.equal(
    formatEvents([takeover, failback]),
    [
      '2026-11-22T11:31:57.871Z  takeover   node-a -> node-b  epoch 2  by node-b: owner found dead',
      '                          verdict dead, heartbeat stale; probes #1 no-answer 1000 ms, #2 not-alive 503 3 ms',
      '2026-11-22T11:32:57.871Z  failback   node-b -> node-a  epoch 3  by node-b: requested by admin API (127.0.0.1)',
    ].join('\n'),
  );
  t.equal(formatEvents([]), 'no transitions recorded');
});

t.test('GET /events: the store\'s history, bounded, filtered by time; 503 when the store fails', async (t) => {
  const cfg = validateConfig(singleNodeConfig());
  const agent = new Agent(cfg, pino({ level: 'silent' }));
  const app = buildAdminServer(agent, cfg.admin, pino({ level: 'silent' }), agent.adminDelegate);
  t.strictSame((await app.inject({ url: '/events' })).json(), { events: [] });
  const stored: TransitionEvent[] = [takeover, failback];
  let fails = false;
  agent.events = async (count) => {
    if (fails) throw new Error('redis recentEvents failed: timed out');
    return stored.slice(-count);
  };
  t.strictSame((await app.inject({ url: '/events' })).json(), { events: JSON.parse(JSON.stringify(stored)) });
  t.match((await app.inject({ url: '/events?limit=1' })).json(), { events: [{ kind: 'failback' }] });
  t.match((await app.inject({ url: `/events?since=${AT + 1}` })).json(), { events: [{ kind: 'failback' }] });
  t.equal((await app.inject({ url: '/events?limit=100000' })).statusCode, 400, 'a read is bounded');
  fails = true;
  const down = await app.inject({ url: '/events' });
  t.equal(down.statusCode, 503);
  t.match(down.json(), { error: /store is unreachable/ });
});
