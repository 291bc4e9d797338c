import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isLoopbackHost } from '../core/acl';
import { Lockout } from '../core/lockout';
import type { Config } from '../config/schema';
import { DEFAULT_EVENTS_READ, MAX_EVENTS_READ } from './events-view';
import type { AdminDelegate, AdminPort } from './port';
import { bearerToken, tokenMatches } from './token';

/**
 * The admin HTTP API: health and readiness for anyone who can reach it; status
 * and events too while it listens on loopback only (the default), with the
 * bearer token beyond; mutations always with the token. Metrics have their own
 * listener (metrics-server.ts).
 */
export function buildAdminServer(agent: AdminPort, cfg: Config['admin'], log: Logger, delegate: AdminDelegate) {
  const app = Fastify({
    loggerInstance: log.child({ component: 'admin' }),
    // `status --watch` every few seconds would drown the decisions that matter in the log.
    logController: new LogController({ disableRequestLogging: true }),
    ...(cfg.tls ? { https: { cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key) } } : {}),
  });
  const lockout = new Lockout(cfg.lockout);

  /** Refuses unless the token is configured, presented, and the source is not locked out. */
  const tokenRequired = {
    onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
      if (!cfg.token) {
        return reply.code(403).send({ error: `${req.method} ${req.url} is disabled: set admin.token to enable it` });
      }
      const source = req.ip;
      const now = Date.now();
      if (lockout.isLocked(source, now)) {
        delegate.onAuthFailure();
        return reply.code(429).send({ error: 'too many failed attempts from this address; locked out for a while' });
      }
      if (!tokenMatches(bearerToken(req.headers.authorization), cfg.token)) {
        delegate.onAuthFailure();
        if (lockout.recordFailure(source, now).lockedNow) {
          delegate.onLockout();
          log.warn({ source }, 'admin source locked out after repeated bad tokens');
        }
        return reply.code(401).header('WWW-Authenticate', 'Bearer').send({ error: 'missing or wrong bearer token' });
      }
      lockout.recordSuccess(source);
      return undefined;
    },
  };
  // Who owns, the peer's address and every past handover are a map for an attacker on the network.
  const readAccess = isLoopbackHost(cfg.host) ? {} : tokenRequired;

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const readiness = agent.readiness();
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });

  app.get('/status', readAccess, async () => agent.status());

  app.get<{ Querystring: { limit?: string; since?: string } }>('/events', readAccess, async (req, reply) => {
    const limit = req.query.limit === undefined ? DEFAULT_EVENTS_READ : Number(req.query.limit);
    const since = req.query.since === undefined ? 0 : Number(req.query.since);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS_READ || !Number.isFinite(since)) {
      return reply.code(400).send({ error: `limit must be 1-${MAX_EVENTS_READ} and since a time in ms` });
    }
    try {
      return { events: (await agent.events(limit)).filter((e) => e.at >= since) };
    } catch (err) {
      return reply.code(503).send({ error: `the state store is unreachable: ${err instanceof Error ? err.message : String(err)}` });
    }
  });

  for (const kind of ['failback', 'switchover'] as const) {
    app.post(`/${kind}`, tokenRequired, async (req, reply) => {
      const r = await agent.handover(kind, `admin API (${req.ip})`);
      if (!r.ok) return reply.code(409).send({ changed: false, message: r.message });
      return reply.send({ changed: r.changed, message: r.message, owner: r.ownership.owner, epoch: r.ownership.epoch });
    });
  }

  return app;
}
