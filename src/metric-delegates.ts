import type { AdminDelegate } from './admin/port';
import type { AppHealthDelegate } from './app-health';
import type { ProbeResult } from './core/types';
import type { FailoverDelegate } from './failover';
import type { HeartbeatDelegate } from './heartbeat';
import type { Metrics } from './metrics';
import type { OverflowDelegate } from './overflow-handler';
import type { BridgeDelegate } from './sip/bridge';
import type { OwnerWatchDelegate } from './owner-watch';
import type { ConnectionDelegate } from './sip/connection';
import type { RegistrationDelegate } from './sip/registration';
import type { RouterDelegate } from './sip/request-router';

/**
 * Every part's events as metrics, in one place: the parts stay free of
 * prom-client and the composition root only hands these out.
 */
export function metricDelegates(m: Metrics) {
  m.drachtioConnected.set(0);
  const registration: RegistrationDelegate = {
    onResult: (kind, r) => {
      m.registrationRequests.inc({ kind, result: r.ok ? 'ok' : r.status ? String(r.status) : 'no_answer' });
      if (!r.ok && kind === 'refresh') m.registrationRefreshFailures.inc();
      if (kind === 'register' || kind === 'refresh') m.alarm.set({ alarm: 'registration_failing' }, r.ok ? 0 : 1);
    },
    onRegisteredChange: (reg) => m.registered.set(reg ? 1 : 0),
    onConflict: (others) => m.alarm.set({ alarm: 'contact_conflict' }, others ? 1 : 0),
  };
  const appHealth: AppHealthDelegate = { onChange: (h) => m.appHealthy.set(h ? 1 : 0) };
  const failover: FailoverDelegate = {
    onOwnership: (own, isOwner) => {
      m.isOwner.set(isOwner ? 1 : 0);
      m.epoch.set(own.epoch);
      if (isOwner) m.alarm.set({ alarm: 'primary_down_switchover_needed' }, 0);
    },
    onTransition: (kind, ok) => {
      m.ownershipChanges.inc({ kind });
      if (kind === 'takeover') m.takeovers.inc({ result: ok ? 'ok' : 'lost_race' });
      if (kind === 'rollback') m.takeovers.inc({ result: 'refused' });
    },
    onStoreError: (op) => m.storeErrors.inc({ op }),
    onAlarm: (name, raised) => m.alarm.set({ alarm: name }, raised ? 1 : 0),
  };
  const heartbeat: HeartbeatDelegate = {
    onStoreError: (op) => m.storeErrors.inc({ op }),
    onPeerHeartbeatAge: (s) => m.peerHeartbeatAge.set(s ?? -1),
    onConfigDrift: (keys) => m.alarm.set({ alarm: 'config_drift' }, keys.length > 0 ? 1 : 0),
  };
  const overflow: OverflowDelegate = {
    onVerdict: (v) => {
      m.verifications.inc({ verdict: v.kind });
      if (v.kind === 'split') m.splits.inc();
    },
    onBackupAlarm: () => m.alarm.set({ alarm: 'primary_down_switchover_needed' }, 1),
    onStoreError: (op) => m.storeErrors.inc({ op }),
  };
  const bridge: Omit<BridgeDelegate, 'onAppUnreachable'> = {
    onCallCount: (n) => m.activeCalls.set(n),
    onSetup: (s) => m.callSetup.observe(s),
    onReferRefused: () => m.sipRejected.inc({ reason: 'refer' }),
  };
  const router: RouterDelegate = {
    onRejected: (reason) => m.sipRejected.inc({ reason }),
    onOverflow: (outcome) => m.overflowInvites.inc({ outcome }),
  };
  const connection: ConnectionDelegate = {
    onConnected: () => m.drachtioConnected.set(1),
    onDisconnected: () => m.drachtioConnected.set(0),
    onPingsStartedByUs: (ours) => m.alarm.set({ alarm: 'drachtio_unpinged' }, ours ? 1 : 0),
  };
  const probe = (p: ProbeResult) => m.probeRtt.observe({ outcome: p.outcome }, p.rttMs / 1000);
  const admin: AdminDelegate = {
    onAuthFailure: () => m.adminAuthFailures.inc(),
    onLockout: () => m.adminLockouts.inc(),
  };
  return {
    registration,
    appHealth,
    probe,
    ownerWatch: { onProbe: probe, onUnreachable: (raised) => m.alarm.set({ alarm: 'owner_unreachable' }, raised ? 1 : 0) } satisfies OwnerWatchDelegate,
    failover,
    heartbeat,
    overflow,
    bridge,
    router,
    connection,
    admin,
    /** The store answers or not; the alarm follows changes only, so the first reading sets the gauge alone. */
    storeReachable: (up: boolean) => m.redisUp.set(up ? 1 : 0),
    storeReachabilityChanged: (up: boolean) => {
      m.redisUp.set(up ? 1 : 0);
      m.alarm.set({ alarm: 'redis_unreachable' }, up ? 0 : 1);
    },
  };
}

export type MetricDelegates = ReturnType<typeof metricDelegates>;
