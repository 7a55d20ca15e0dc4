/**
 * `buildMetricsApp(deps)`: the listener CALLHOOK_METRICS_PORT opens, serving `/metrics` (the
 * process's registry, as the API's `/metrics` does) and `/healthz`, nothing else. It lets a
 * worker-only process (`serve --worker`), which opens no API port, be scraped. Never listens:
 * `main.ts` does.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { errorBody } from './errors.js';
import { metricsRoutes } from './api/health.routes.js';
import { closeBusyConnectionsOnStop } from './app.js';

export interface MetricsAppDeps {
  logger: Logger;
  metrics: Metrics;
}

export async function buildMetricsApp(deps: MetricsAppDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger });
  // No route here takes a body: none is parsed, so anything but the two GETs is a 404, whatever
  // it sends (not a 400 for a body no route would read).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(
        errorBody('ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`),
      );
  });
  closeBusyConnectionsOnStop(app);
  await app.register(metricsRoutes, { metrics: deps.metrics });
  return app;
}
