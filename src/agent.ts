import type { Logger } from 'pino';
import { AppHealth } from './app-health';
import { sipAcl } from './core/acl';
import { ChannelGate } from './core/channels';
import { type Clock, systemClock } from './core/clock';
import { overloadReason } from './core/overload';
import { Verifier } from './core/verification';
import type { Config } from './config/schema';
import { Failover } from './failover';
import { LoopLag } from './loop-lag';
import { createMetrics, type Metrics } from './metrics';
import { OverflowHandler } from './overflow-handler';
import { Bridge } from './sip/bridge';
import { DrachtioConnection } from './sip/connection';
import { optionsProbe } from './sip/prober';
import { Registration } from './sip/registration';
import { installRouter } from './sip/request-router';
import { createSrf } from './sip/srf';
import { MemoryStore } from './state/memory-store';
import { RedisStore } from './state/redis-store';
import type { StateStore } from './state/store';

/** How long one REGISTER may take before it counts as failed. */
const REGISTER_TIMEOUT_MS = 5000;

/**
 * The composition root: builds the adapters around the core from the config and
 * wires their events to metrics. No decision is made here.
 */
export class Agent {
  readonly metrics: Metrics;
  readonly failover: Failover;
  readonly registration: Registration;
  readonly appHealth: AppHealth;
  /** Absent in single-node mode: there is no peer to verify. */
  readonly verifier: Verifier | null;
  readonly store: StateStore;
  readonly connection: DrachtioConnection;
  readonly gate: ChannelGate;
  private readonly lag = new LoopLag();
  private stopped = false;

  constructor(
    readonly config: Config,
    readonly log: Logger,
    clock: Clock = systemClock,
  ) {
    const cfg = config;
    const m = (this.metrics = createMetrics());
    const self = cfg.node.id;
    const primary = cfg.node.role === 'primary' || !cfg.peer ? self : cfg.peer.id;
    const srf = createSrf();

    this.store = cfg.redis
      ? new RedisStore({ ...cfg.redis, onReachabilityChange: (up) => this.onStoreReachability(up) })
      : new MemoryStore();
    m.redisUp.set(this.store.isReachable() ? 1 : 0);
    if (!cfg.redis) log.warn('no redis in the config: running single-node with in-process state');

    this.registration = new Registration(
      srf,
      { ...cfg.ipbx, timeoutMs: REGISTER_TIMEOUT_MS },
      log.child({ component: 'registration' }),
      clock,
      {
        onResult: (kind, r) => {
          m.registrationRequests.inc({ kind, result: r.ok ? 'ok' : r.status ? String(r.status) : 'no_answer' });
          if (!r.ok && kind === 'refresh') m.registrationRefreshFailures.inc();
          if (kind === 'register' || kind === 'refresh') m.alarm.set({ alarm: 'registration_failing' }, r.ok ? 0 : 1);
        },
        onRegisteredChange: (reg) => m.registered.set(reg ? 1 : 0),
      },
    );

    this.appHealth = new AppHealth(
      optionsProbe(srf, cfg.app.target, cfg.ipbx.contact),
      { intervalMs: cfg.app.healthIntervalMs, timeoutMs: cfg.app.healthTimeoutMs },
      clock,
      log.child({ component: 'app-health' }),
      { onChange: (h) => m.appHealthy.set(h ? 1 : 0) },
    );

    const verifier = (this.verifier = cfg.peer
      ? new Verifier(
          cfg.verification,
          {
            sendProbe: optionsProbe(srf, cfg.peer.uri, cfg.ipbx.contact),
            onProbe: (p) => m.probeRtt.observe({ outcome: p.outcome }, p.rttMs / 1000),
          },
          clock,
        )
      : null);

    let lastEpoch = 0;
    this.failover = new Failover(
      {
        self,
        peer: cfg.peer?.id ?? null,
        primary,
        heartbeatIntervalMs: cfg.heartbeat.intervalMs,
        staleAfterMs: cfg.heartbeat.staleAfterMs,
        ignoreUnreadableOwnership: cfg.startup.ignoreUnreadableOwnership,
      },
      this.store,
      this.registration,
      clock,
      log.child({ component: 'failover' }),
      {
        onOwnership: (own, isOwner) => {
          m.isOwner.set(isOwner ? 1 : 0);
          m.epoch.set(own.epoch);
          // A cached "alive" was about the previous owner.
          if (own.epoch !== lastEpoch) verifier?.invalidate();
          lastEpoch = own.epoch;
          if (isOwner) m.alarm.set({ alarm: 'primary_down_switchover_needed' }, 0);
        },
        onTransition: (kind, ok) => {
          m.ownershipChanges.inc({ kind });
          if (kind === 'takeover') m.takeovers.inc({ result: ok ? 'ok' : 'lost_race' });
          if (kind === 'rollback') m.takeovers.inc({ result: 'refused' });
        },
        onStoreError: (op) => m.storeErrors.inc({ op }),
        onPeerHeartbeatAge: (s) => m.peerHeartbeatAge.set(s ?? -1),
        onAlarm: (name, raised) => m.alarm.set({ alarm: name }, raised ? 1 : 0),
      },
      () => this.appHealth.isHealthy,
    );

    const overflow =
      verifier &&
      cfg.peer &&
      new OverflowHandler(
        verifier,
        this.failover,
        { mode: cfg.mode, dissuasion: cfg.dissuasion, ownerUri: cfg.peer.uri },
        {
          onVerdict: (v) => {
            m.verifications.inc({ verdict: v.kind });
            if (v.kind === 'split') m.splits.inc();
          },
          onBackupAlarm: () => m.alarm.set({ alarm: 'primary_down_switchover_needed' }, 1),
        },
      );

    this.gate = new ChannelGate(cfg.app.channels);
    const bridge = new Bridge(srf, cfg.app, this.gate, clock, {
      onCallCount: (n) => m.activeCalls.set(n),
      onSetup: (s) => m.callSetup.observe(s),
      onReferRefused: () => m.sipRejected.inc({ reason: 'refer' }),
    });

    installRouter(srf, {
      acl: sipAcl(cfg),
      bridge,
      log: log.child({ component: 'sip' }),
      routing: {
        isOwner: () => this.failover.isOwner(),
        appHealthy: () => this.appHealth.isHealthy,
        overloaded: () => overloadReason(this.lag.ms, verifier?.pending ?? 0, cfg.overload),
        overflow: async (signal, callLog) => {
          if (overflow) return overflow.handle(signal, callLog);
          // Single-node mode always owns; reaching here means the state was tampered with.
          callLog.error('INVITE while not owner and no peer to verify: refused with 503');
          return { kind: 'refuse', response: { status: 503, headers: {} } };
        },
      },
      observer: {
        onRejected: (reason) => m.sipRejected.inc({ reason }),
        onOverflow: (outcome) => m.overflowInvites.inc({ outcome }),
      },
    });

    this.connection = new DrachtioConnection(srf, cfg.drachtio, log.child({ component: 'drachtio' }), clock, {
      onConnected: () => {
        m.drachtioConnected.set(1);
        // Whatever happened while we were away: register again if we hold the binding,
        // and act on ownership now rather than at the next tick.
        this.registration.reassert();
        void this.failover.resync();
      },
      onDisconnected: () => m.drachtioConnected.set(0),
    });
    m.drachtioConnected.set(0);
  }

  async start(): Promise<void> {
    this.lag.start();
    this.connection.start();
    this.appHealth.start();
    const ready = await this.store.ready();
    if (this.stopped) return; // stopped while the store was connecting
    if (!ready) this.log.warn('state store not reachable yet: ownership will be read when it is');
    this.failover.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.failover.stop();
    this.appHealth.stop();
    this.registration.release();
    this.lag.stop();
    this.connection.stop();
    await this.store.close();
  }

  private onStoreReachability(up: boolean): void {
    this.metrics.redisUp.set(up ? 1 : 0);
    this.metrics.alarm.set({ alarm: 'redis_unreachable' }, up ? 0 : 1);
    if (up) this.log.info('state store reachable');
    else this.log.error('state store unreachable: the SIP path alone decides until it is back');
  }
}
