/**
 * `buildMetricsApp(deps)`: the listener CALLHOOK_METRICS_PORT opens, serving `/metrics` (the
 * process's registry, as the API's `/metrics` does), `/healthz` and `/readyz` (as the API's),
 * nothing else. It lets a worker-only process (`serve --worker`), which opens no API port, be
 * scraped and probed. Never listens: `main.ts` does.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Store } from './store/db.js';
import { healthRoutes } from './api/health.routes.js';
import { closeBusyConnectionsOnStop, requestTimeoutOptions } from './app.js';
import { routeNotFound } from './api/validation-and-errors.js';

export interface MetricsAppDeps {
  logger: Logger;
  metrics: Metrics;
  /** What `/readyz` asks, as the API's does. */
  store: Store;
  /** As the API's (`REQUEST_TIMEOUT_MS`); tests shorten it. */
  requestTimeoutMs?: number;
}

export async function buildMetricsApp(deps: MetricsAppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    ...requestTimeoutOptions(deps.requestTimeoutMs),
    // As the API's: one shape of `reqId` in the logs of every listener of a deployment.
    genReqId: () => randomUUID(),
  });
  // No route here takes a body: none is parsed, so anything but the three GETs is a 404, whatever
  // it sends (not a 400 for a body no route would read).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  app.setNotFoundHandler(routeNotFound);
  closeBusyConnectionsOnStop(app);
  await app.register(healthRoutes, { store: deps.store, metrics: deps.metrics });
  return app;
}
