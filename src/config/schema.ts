import { z } from 'zod';
import { parseCidr } from '../core/acl';
import { LOG_FLUSH_MS } from '../log';

const sipUri = z.string().regex(/^sips?:[^\s]+$/, 'must be a sip: or sips: URI without spaces');
const cidr = z.string().superRefine((v, ctx) => {
  try {
    parseCidr(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `${err instanceof Error ? err.message : String(err)} (e.g. 192.0.2.10 or 192.0.2.0/24)` });
  }
});
const ms = (def: number) => z.number().int().positive().default(def);

const dissuasion = z
  .object({
    /** Final response sent to an overflow call while the owner is alive. */
    status: z.number().int().default(486),
    /** Reason phrase; the standard one when omitted. */
    reason: z.string().optional(),
  })
  .superRefine((d, ctx) => {
    if (d.status >= 600) {
      ctx.addIssue({
        code: 'custom',
        path: ['status'],
        message: 'a 6xx tells the IPBX to stop trying everywhere, so the call would never reach the owner; use 486, 302 or 503',
      });
    } else if (d.status < 300 || d.status > 599) {
      ctx.addIssue({ code: 'custom', path: ['status'], message: 'must be a final non-2xx SIP status (300-599)' });
    }
  });

export const configSchema = z
  .object({
    node: z.object({
      /** This node's name, as stored in ownership and heartbeats. */
      id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only'),
      /** `primary`: the preferred owner, which owns at first start. */
      role: z.enum(['primary', 'secondary']),
    }),
    mode: z.enum(['ha', 'backup']).default('ha'),
    /** The other node of the pair; absent in single-node mode. */
    peer: z.object({
      id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only'),
      /** Where the peer's understudy answers OPTIONS; probed while the peer owns. */
      uri: sipUri,
      /** Source addresses of the peer, trusted for SIP. */
      addresses: z.array(cidr).default([]),
    }).optional(),
    drachtio: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(1).max(65535).default(9022),
        secret: z.string().min(1),
        /** Cap of the reconnect back-off. */
        retryMaxDelayMs: ms(5000),
        /** App-level ping so a silently dead connection is noticed. */
        pingIntervalMs: ms(5000),
        /**
         * Once pings go unanswered the link is down at once, but the connection is
         * kept this long so a frozen server that thaws resumes on it; then replaced.
         */
        replaceSilentAfterMs: ms(60000),
      }),
    ipbx: z.object({
      /** Request-URI of REGISTER. */
      registrar: sipUri,
      /** The application's address of record (To and From of REGISTER). */
      aor: sipUri,
      /** This node's contact, registered while it owns. */
      contact: sipUri,
      username: z.string().min(1),
      password: z.string().min(1),
      /** Requested registration lifetime in seconds. */
      expires: z.number().int().min(1).max(86400).default(300),
      /** Source addresses of the IPBX, trusted for SIP. */
      addresses: z.array(cidr).min(1, 'list at least the IPBX address'),
    }),
    app: z.object({
      /** The only destination calls are ever bridged to. */
      target: sipUri,
      /** Licensed concurrent calls; beyond it new INVITEs get 486 so the IPBX overflows. */
      channels: z.number().int().min(1).default(30),
      healthIntervalMs: ms(2000),
      healthTimeoutMs: ms(1000),
      /**
       * Health probes failed in a row that make the app unhealthy on their own
       * (one failed call to it plus one failed probe also do): one lost probe
       * must not hand the registration to the peer.
       */
      healthFailures: z.number().int().min(1).max(10).default(2),
      /** An app that rings and never answers must not hold a channel until the caller gives up: 480 after this. */
      answerTimeoutMs: ms(30_000),
      /** Calls still up after this are hung up on both legs (a lost BYE must not hold a channel for ever); 0: no limit. */
      maxCallDurationMs: z.number().int().min(0).default(4 * 3600_000),
      /** How long a leg has to answer a relayed INFO, UPDATE or re-INVITE before its sender gets 408. */
      inDialogTimeoutMs: ms(10_000),
    }),
    verification: z.object({
      attempts: z.number().int().min(1).max(10).default(3),
      intervalMs: ms(500),
      timeoutMs: ms(1000),
      /** How long an `alive` verdict answers later overflow calls without probing again. */
      aliveTtlMs: ms(5000),
      aliveStatuses: z.array(z.number().int().min(200).max(699)).min(1).default([200]),
      /**
       * While another node owns, probe it every intervalMs outside any call, so
       * an overflow call is decided from probes already made (src/owner-watch.ts).
       */
      watchOwner: z.boolean().default(true),
    }).prefault({}),
    dissuasion: dissuasion.prefault({}),
    heartbeat: z.object({
      intervalMs: ms(1000),
      /** A heartbeat older than this says the node is gone. */
      staleAfterMs: ms(3500),
    }).prefault({}),
    redis: z
      .object({
        url: z.string().optional(),
        sentinels: z.array(z.object({ host: z.string(), port: z.number().int() })).optional(),
        sentinelName: z.string().optional(),
        /** ACL user (Redis 6+); the `default` user when omitted. */
        username: z.string().min(1).optional(),
        password: z.string().optional(),
        /** Credentials of the Sentinels themselves (their `requirepass`/ACL), distinct from the master's. */
        sentinelUsername: z.string().min(1).optional(),
        sentinelPassword: z.string().optional(),
        /** TLS to Redis, also implied by a `rediss://` URL; `ca` is a PEM file trusted instead of the system CAs. */
        tls: z.object({ ca: z.string().optional(), servername: z.string().optional() }).optional(),
        commandTimeoutMs: ms(500),
        keyPrefix: z.string().default('understudy:'),
      })
      .superRefine((r, ctx) => {
        if (!r.url && !r.sentinels) ctx.addIssue({ code: 'custom', message: 'set url or sentinels' });
        if (r.sentinels && !r.sentinelName) ctx.addIssue({ code: 'custom', path: ['sentinelName'], message: 'required with sentinels' });
      })
      .optional(),
    admin: z.object({
      /** Beyond loopback, `/status` and `/events` need the token as the mutations do. */
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** Bearer token for mutations (and reads off loopback); with none they are disabled. */
      token: z.string().optional(),
      tls: z.object({ cert: z.string(), key: z.string() }).optional(),
      lockout: z.object({
        maxFailures: z.number().int().min(1).default(3),
        periodMs: ms(300000),
      }).prefault({}),
    }).prefault({}),
    /**
     * Prometheus scrapes `/metrics` here, apart from the admin API, so that opening
     * it to the scraper opens neither the status nor the handover routes.
     */
    metrics: z.object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(9464),
    }).prefault({}),
    security: z.object({
      /** More trusted SIP sources (loopback is always trusted unless lockdown). */
      trusted: z.array(cidr).default([]),
      /** Only the IPBX's SIP and the loopback admin remain. */
      lockdown: z.boolean().default(false),
    }).prefault({}),
    overload: z.object({
      eventLoopLagMs: ms(200),
      maxPendingVerifications: z.number().int().min(1).default(200),
      /**
       * INVITEs admitted and not yet answered; past it new ones are shed at once. In flight = rate x time
       * to answer: the bridged path's clean ceiling on 2 cores (a few hundred calls/s, README "Benchmark")
       * answered within 250 ms, half of T1, so an admitted INVITE is answered before its first retransmission.
       */
      maxInFlightInvites: z.number().int().min(1).default(100),
      /**
       * New calls the owner bridges per second; past it new INVITEs get 503 at once. 0.75 x the bridged
       * path's clean ceiling measured on 2 cores (README "Benchmark"): each 503 still costs about a
       * quarter of a bridged call, and a burst must leave room for them. drachtio-server's own thread
       * caps a larger machine not far above it. 0: no limit.
       */
      maxCallsPerSecond: z.number().int().min(0).default(350),
    }).prefault({}),
    startup: z.object({
      /** Register even when ownership cannot be read at start (operator override). */
      ignoreUnreadableOwnership: z.boolean().default(false),
    }).prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
        /** Lines are written in 4 KiB batches or after at most this long (src/log.ts); 0: each at once. */
        flushMs: z.number().int().min(0).max(1000).default(LOG_FLUSH_MS),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.peer && c.node.id === c.peer.id) ctx.addIssue({ code: 'custom', path: ['peer', 'id'], message: 'must differ from node.id' });
    if (!c.peer && c.node.role === 'secondary') {
      ctx.addIssue({ code: 'custom', path: ['peer'], message: 'required for a secondary: it is the node it watches and takes over from' });
    }
    // Two nodes with separate in-process state would each believe it owns: two registrations.
    if (c.peer && !c.redis) {
      ctx.addIssue({ code: 'custom', path: ['redis'], message: 'required when a peer is configured: the pair must share ownership (omit peer for single-node mode)' });
    }
  });

export type Config = z.infer<typeof configSchema>;
