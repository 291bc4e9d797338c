import Fastify, { LogController } from 'fastify';
import type { Logger } from 'pino';
import type { MetricsPort } from './port';

/**
 * The Prometheus scrape target, on its own listener: it can be opened to the
 * scraper's network without opening the admin API's status, events and handovers.
 * `/healthz` lets the scrape job (or a probe) tell a dead process from a failed scrape.
 */
export function buildMetricsServer(agent: MetricsPort, log: Logger) {
  const app = Fastify({
    loggerInstance: log.child({ component: 'metrics' }),
    // A scrape every few seconds would drown the decisions that matter in the log.
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await agent.metricsText();
    return reply.type(contentType).send(body);
  });

  return app;
}
