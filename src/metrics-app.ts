/**
 * `buildMetricsApp(deps)`: the listener CALLHOOK_METRICS_PORT opens, serving `/metrics` (the
 * process's registry, as the API's `/metrics` does) and `/healthz`, nothing else. It lets a
 * worker-only process (`serve --worker`), which opens no API port, be scraped. Never listens:
 * `main.ts` does.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { metricsRoutes } from './api/health.routes.js';
import { closeBusyConnectionsOnStop, requestTimeoutOptions } from './app.js';
import { routeNotFound } from './api/validation-and-errors.js';

export interface MetricsAppDeps {
  logger: Logger;
  metrics: Metrics;
  /** As the API's (`REQUEST_TIMEOUT_MS`); tests shorten it. */
  requestTimeoutMs?: number;
}

export async function buildMetricsApp(deps: MetricsAppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    ...requestTimeoutOptions(deps.requestTimeoutMs),
  });
  // No route here takes a body: none is parsed, so anything but the two GETs is a 404, whatever
  // it sends (not a 400 for a body no route would read).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  app.setNotFoundHandler(routeNotFound);
  closeBusyConnectionsOnStop(app);
  await app.register(metricsRoutes, { metrics: deps.metrics });
  return app;
}
