import type { Logger } from 'pino';
import type { AdminDelegate, AdminPort, MetricsPort, Readiness } from './admin/port';
import { type Status, statusOf } from './admin/status';
import { AppHealth } from './app-health';
import type { Config } from './config/schema';
import { sipAcl } from './config/sip-acl';
import { ChannelGate } from './core/channels';
import { dissuasionResponse } from './core/dissuasion';
import type { Clock } from './core/clock';
import { CallRate, shedReason } from './core/overload';
import type { TransitionEvent } from './core/types';
import { fingerprint } from './core/settings-fingerprint';
import { Verifier } from './core/verification';
import { OwnerWatch } from './owner-watch';
import { type ChangeResult, Failover } from './failover';
import { FaultLog } from './fault-log';
import { HeartbeatPublisher } from './heartbeat';
import { LoopLag } from './loop-lag';
import { metricDelegates } from './metric-delegates';
import { createMetrics, type Metrics } from './metrics';
import { OverflowHandler } from './overflow-handler';
import { pairSettingsOf } from './pair-settings';
import { Bridge } from './sip/bridge';
import { DrachtioConnection } from './sip/connection';
import { optionsProbe } from './sip/prober';
import { Registration } from './sip/registration';
import { installRouter } from './sip/request-router';
import { createSrf } from './sip/srf';
import { MemoryStore } from './state/memory-store';
import { RedisStore } from './state/redis-store';
import type { StateStore } from './state/store';
import { systemClock } from './system-clock';

/** How long one REGISTER may take before it counts as failed. */
const REGISTER_TIMEOUT_MS = 5000;

/**
 * The composition root: builds the parts from the config and connects them.
 * Decisions live in the parts; metrics come from metric-delegates.ts.
 */
export class Agent implements AdminPort, MetricsPort {
  readonly adminDelegate: AdminDelegate;
  private readonly metrics: Metrics;
  private readonly failover: Failover;
  private readonly heartbeat: HeartbeatPublisher;
  private readonly overflow: OverflowHandler;
  /** Absent in single-node mode or with verification.watchOwner off. */
  private readonly ownerWatch: OwnerWatch | null;
  private readonly registration: Registration;
  private readonly appHealth: AppHealth;
  private readonly store: StateStore;
  private readonly connection: DrachtioConnection;
  private readonly gate: ChannelGate;
  private readonly lag = new LoopLag();
  private stopped = false;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    clock: Clock = systemClock,
  ) {
    const cfg = config;
    const m = (this.metrics = createMetrics());
    const d = metricDelegates(m);
    this.adminDelegate = d.admin;
    const self = cfg.node.id;
    const primary = cfg.node.role === 'primary' || !cfg.peer ? self : cfg.peer.id;
    const srf = createSrf();

    const storeFault = new FaultLog(log, clock, 'state store reachable');
    const storeAddress = cfg.redis?.url ?? `sentinel ${cfg.redis?.sentinelName ?? ''}`;
    this.store = cfg.redis
      ? new RedisStore({
          ...cfg.redis,
          onReachabilityChange: d.storeReachabilityChanged,
          onOutcome: (op, error) =>
            error === null ? storeFault.recovered() : storeFault.failed('state store unreachable: the SIP path alone decides until it is back', { op, err: error, redis: storeAddress }),
        })
      : new MemoryStore();
    d.storeReachable(this.store.isReachable());
    if (!cfg.redis) log.warn('no redis in the config: running single-node with in-process state');

    this.registration = new Registration(
      srf,
      { ...cfg.ipbx, timeoutMs: REGISTER_TIMEOUT_MS },
      log.child({ component: 'registration' }),
      clock,
      d.registration,
      () => this.failover.stillOwner(),
    );

    this.appHealth = new AppHealth(
      optionsProbe(srf, cfg.app.target, cfg.ipbx.contact),
      { intervalMs: cfg.app.healthIntervalMs, timeoutMs: cfg.app.healthTimeoutMs, failuresToDown: cfg.app.healthFailures },
      clock,
      log.child({ component: 'app-health' }),
      d.appHealth,
    );

    this.heartbeat = new HeartbeatPublisher(
      { self, peer: cfg.peer?.id ?? null, staleAfterMs: cfg.heartbeat.staleAfterMs, settings: fingerprint(pairSettingsOf(cfg)) },
      this.store,
      clock,
      log.child({ component: 'heartbeat' }),
      d.heartbeat,
      () => this.appHealth.isHealthy,
    );

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
      this.heartbeat,
      clock,
      log.child({ component: 'failover' }),
      d.failover,
    );

    const peer = cfg.peer
      ? {
          id: cfg.peer.id,
          uri: cfg.peer.uri,
          sendProbe: optionsProbe(srf, cfg.peer.uri, cfg.ipbx.contact),
        }
      : null;
    const verifier = peer && new Verifier(cfg.verification, { sendProbe: peer.sendProbe, onProbe: d.probe }, clock);
    this.ownerWatch =
      peer && verifier && cfg.verification.watchOwner
        ? new OwnerWatch(
            peer.sendProbe,
            verifier,
            cfg.verification,
            () => this.failover.ownership !== null && !this.failover.isOwner(),
            clock,
            log.child({ component: 'owner-watch' }),
            d.ownerWatch,
          )
        : null;
    this.overflow = new OverflowHandler(
      peer && verifier && { id: peer.id, uri: peer.uri, verifier },
      this.failover,
      this.store,
      { mode: cfg.mode, dissuasion: cfg.dissuasion, staleAfterMs: cfg.heartbeat.staleAfterMs },
      clock,
      d.overflow,
    );

    this.gate = new ChannelGate(cfg.app.channels);
    const bridge = new Bridge(srf, cfg.app, this.gate, clock, { ...d.bridge, onAppUnreachable: () => this.appHealth.callFailed() });
    const callRate = new CallRate(cfg.overload.maxCallsPerSecond);

    installRouter(srf, {
      acl: sipAcl(cfg),
      bridge,
      log: log.child({ component: 'sip' }),
      routing: {
        isOwner: () => this.failover.isOwner(),
        appHealthy: () => this.appHealth.isHealthy,
        overloaded: (inFlightInvites, bridging) =>
          shedReason({ lagMs: this.lag.ms, pendingVerifications: this.overflow.pending, inFlightInvites }, cfg.overload, bridging, callRate, clock.now()),
      },
      overflow: this.overflow,
      dissuasion: cfg.peer ? dissuasionResponse(cfg.dissuasion, cfg.peer.uri) : null,
      delegate: d.router,
    });

    this.connection = new DrachtioConnection(srf, cfg.drachtio, log.child({ component: 'drachtio' }), clock, {
      onConnected: () => {
        d.connection.onConnected();
        // Probes sent before the connection failed: know the app's state now, not an interval later.
        this.appHealth.checkNow();
        // Whatever happened while we were away: register again if we hold the binding,
        // and act on ownership now rather than at the next tick.
        this.registration.reassert();
        void this.failover.resync();
      },
      onDisconnected: d.connection.onDisconnected,
      onPingsStartedByUs: d.connection.onPingsStartedByUs,
    });
  }

  async start(): Promise<void> {
    this.lag.start();
    this.connection.start();
    this.appHealth.start();
    const ready = await this.store.ready();
    if (this.stopped) return; // stopped while the store was connecting
    if (!ready) this.log.warn('state store not reachable yet: ownership will be read when it is');
    this.failover.start();
    this.ownerWatch?.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.ownerWatch?.stop();
    this.failover.stop();
    this.appHealth.stop();
    this.registration.release();
    this.lag.stop();
    this.connection.stop();
    await this.store.close();
  }

  status(): Status {
    return statusOf(this.config, {
      ownership: this.failover.ownership,
      isOwner: this.failover.isOwner(),
      registered: this.registration.registered,
      appHealthy: this.appHealth.isHealthy,
      drachtioConnected: this.connection.connected,
      store: { kind: this.store.kind, reachable: this.store.isReachable() },
      peerHeartbeatAgeSec: this.heartbeat.peerAgeSec,
      settingsDrift: this.heartbeat.settingsDrift,
      activeCalls: this.gate.inUse,
      verdict: this.overflow.verdict,
    });
  }

  readiness(): Readiness {
    const drachtio = this.connection.connected;
    const store = this.store.isReachable();
    return { ready: drachtio && store, drachtio, store };
  }

  handover(kind: 'failback' | 'switchover', by: string): Promise<ChangeResult> {
    return this.failover.handover(kind, by);
  }

  events(count: number): Promise<TransitionEvent[]> {
    return this.store.recentEvents(count);
  }

  async metricsText(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() };
  }
}
