import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Lockout } from '../core/lockout';
import type { Config } from '../config/schema';
import { DEFAULT_EVENTS_READ, MAX_EVENTS_READ } from './events-view';
import type { AdminDelegate, AdminPort } from './port';
import { bearerToken, tokenMatches } from './token';

/**
 * The admin HTTP API: read-only status, health and metrics for anyone who can
 * reach it (loopback by default), mutations only with the bearer token.
 */
export function buildAdminServer(agent: AdminPort, cfg: Config['admin'], log: Logger, delegate: AdminDelegate) {
  const app = Fastify({
    loggerInstance: log.child({ component: 'admin' }),
    // A scrape every few seconds would drown the decisions that matter in the log.
    logController: new LogController({ disableRequestLogging: true }),
    ...(cfg.tls ? { https: { cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key) } } : {}),
  });
  const lockout = new Lockout(cfg.lockout);

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const readiness = agent.readiness();
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });

  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await agent.metricsText();
    return reply.type(contentType).send(body);
  });

  app.get('/status', async () => agent.status());

  // Read-only like /status: the history is what an operator needs before acting, token or not.
  app.get<{ Querystring: { limit?: string; since?: string } }>('/events', async (req, reply) => {
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

  /** Refuses unless the token is configured, presented, and the source is not locked out. */
  const authorize = async (req: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    if (!cfg.token) {
      await reply.code(403).send({ error: 'admin mutations are disabled: set admin.token to enable them' });
      return false;
    }
    const source = req.ip;
    const now = Date.now();
    if (lockout.isLocked(source, now)) {
      delegate.onAuthFailure();
      await reply.code(429).send({ error: 'too many failed attempts from this address; locked out for a while' });
      return false;
    }
    if (!tokenMatches(bearerToken(req.headers.authorization), cfg.token)) {
      delegate.onAuthFailure();
      if (lockout.recordFailure(source, now).lockedNow) {
        delegate.onLockout();
        log.warn({ source }, 'admin source locked out after repeated bad tokens');
      }
      await reply.code(401).header('WWW-Authenticate', 'Bearer').send({ error: 'missing or wrong bearer token' });
      return false;
    }
    lockout.recordSuccess(source);
    return true;
  };

  for (const kind of ['failback', 'switchover'] as const) {
    app.post(`/${kind}`, async (req, reply) => {
      if (!(await authorize(req, reply))) return reply;
      const r = await agent.handover(kind, `admin API (${req.ip})`);
      if (!r.ok) return reply.code(409).send({ changed: false, message: r.message });
      return reply.send({ changed: r.changed, message: r.message, owner: r.ownership.owner, epoch: r.ownership.epoch });
    });
  }

  return app;
}
