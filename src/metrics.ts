import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { OVERFLOW_OUTCOMES, REJECT_REASONS } from './sip/request-router';

/**
 * Every series the agent exports. Label values are closed sets (the `as const`
 * arrays below) so a hostile peer cannot blow up cardinality.
 */
export const VERDICTS = ['alive', 'dead', 'split'] as const;
export const TAKEOVER_RESULTS = ['ok', 'lost_race', 'refused'] as const;
export const PROBE_OUTCOMES = ['alive', 'not-alive', 'no-answer', 'error'] as const;
export const ALARMS = [
  'primary_down_switchover_needed',
  'registration_failing',
  'contact_conflict',
  'ownership_unreadable',
  'takeover_refused',
  'redis_unreachable',
  'drachtio_unpinged',
  'owner_unreachable',
  'config_drift',
] as const;
export type Alarm = (typeof ALARMS)[number];
export type TakeoverResult = (typeof TAKEOVER_RESULTS)[number];

export function createMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry });
  const r = { registers: [registry] };
  const m = {
    registry,
    isOwner: new Gauge({ name: 'understudy_is_owner', help: '1 while this node owns the registration', ...r }),
    epoch: new Gauge({ name: 'understudy_ownership_epoch', help: 'Ownership epoch last seen by this node', ...r }),
    registered: new Gauge({ name: 'understudy_registered', help: '1 while this node holds a registration at the IPBX', ...r }),
    registrationRequests: new Counter({
      name: 'understudy_registration_requests_total',
      help: 'REGISTER transactions by kind and result',
      labelNames: ['kind', 'result'] as const,
      ...r,
    }),
    registrationRefreshFailures: new Counter({
      name: 'understudy_registration_refresh_failures_total',
      help: 'Registration refreshes that did not get a 2xx',
      ...r,
    }),
    verifications: new Counter({
      name: 'understudy_verifications_total',
      help: 'Completed verification cycles of the owner by verdict',
      labelNames: ['verdict'] as const,
      ...r,
    }),
    splits: new Counter({
      name: 'understudy_splits_total',
      help: 'Verdicts where the SIP path said dead but the owner heartbeat was fresh and healthy',
      ...r,
    }),
    probeRtt: new Histogram({
      name: 'understudy_probe_rtt_seconds',
      help: 'Round-trip time of OPTIONS probes to the owner, by outcome',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      ...r,
    }),
    overflowInvites: new Counter({
      name: 'understudy_overflow_invites_total',
      help: 'INVITEs received while not owner, by outcome',
      labelNames: ['outcome'] as const,
      ...r,
    }),
    sipRejected: new Counter({
      name: 'understudy_sip_rejected_total',
      help: 'SIP requests refused before reaching the application, by reason',
      labelNames: ['reason'] as const,
      ...r,
    }),
    takeovers: new Counter({
      name: 'understudy_takeovers_total',
      help: 'Takeover attempts by result',
      labelNames: ['result'] as const,
      ...r,
    }),
    ownershipChanges: new Counter({
      name: 'understudy_ownership_changes_total',
      help: 'Ownership transitions seen by this node, by kind',
      labelNames: ['kind'] as const,
      ...r,
    }),
    activeCalls: new Gauge({ name: 'understudy_active_calls', help: 'Calls being set up or bridged to the local app', ...r }),
    callSetup: new Histogram({
      name: 'understudy_call_setup_seconds',
      help: 'INVITE received to final response from the local app',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      ...r,
    }),
    appHealthy: new Gauge({ name: 'understudy_app_healthy', help: '1 while the local app answers the health probe', ...r }),
    peerHeartbeatAge: new Gauge({
      name: 'understudy_peer_heartbeat_age_seconds',
      help: 'Age of the peer heartbeat read from the store (-1 when absent or unreadable)',
      ...r,
    }),
    redisUp: new Gauge({ name: 'understudy_redis_up', help: '1 while the state store answers (always 1 in single-node mode)', ...r }),
    storeErrors: new Counter({
      name: 'understudy_store_errors_total',
      help: 'State store operations that failed, by operation',
      labelNames: ['op'] as const,
      ...r,
    }),
    drachtioConnected: new Gauge({ name: 'understudy_drachtio_connected', help: '1 while connected to drachtio-server', ...r }),
    alarm: new Gauge({
      name: 'understudy_alarm',
      help: '1 while the named alarm is raised',
      labelNames: ['alarm'] as const,
      ...r,
    }),
    adminAuthFailures: new Counter({ name: 'understudy_admin_auth_failures_total', help: 'Admin requests with a missing or wrong token', ...r }),
    adminLockouts: new Counter({ name: 'understudy_admin_lockouts_total', help: 'Admin sources locked out after repeated failures', ...r }),
  };
  // Labelled series start at 0 so that increase() sees the first event after a restart.
  for (const a of ALARMS) m.alarm.set({ alarm: a }, 0);
  for (const verdict of VERDICTS) m.verifications.inc({ verdict }, 0);
  for (const outcome of OVERFLOW_OUTCOMES) m.overflowInvites.inc({ outcome }, 0);
  for (const reason of REJECT_REASONS) m.sipRejected.inc({ reason }, 0);
  for (const result of TAKEOVER_RESULTS) m.takeovers.inc({ result }, 0);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
