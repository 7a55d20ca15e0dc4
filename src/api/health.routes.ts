import type { FastifyPluginAsync } from 'fastify';
import type { Store } from '../store/db.js';
import { errorBody } from '../errors.js';
import type { Metrics } from '../metrics.js';

/** How long `/readyz` waits for the store: a database that does not answer is not ready. */
export const READY_TIMEOUT_MS = 2_000;

function withDeadline(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * The probes' route options: hidden from the OpenAPI document, public, and not logged below
 * `warn` (a scraper or an orchestrator asks every few seconds: two `info` lines each were most of
 * an idle service's log).
 */
const PROBE = { schema: { hide: true }, config: { access: 'public' }, logLevel: 'warn' } as const;

/**
 * `/healthz`: the process answers. `/readyz`: and its store is reachable. `/metrics`. All public:
 * what the API serves and, alone, the metrics listener of a process with CALLHOOK_METRICS_PORT
 * (src/metrics-app.ts), so a worker-only process is probed as an API process is.
 */
export const healthRoutes: FastifyPluginAsync<{ store: Store; metrics: Metrics }> = async (
  app,
  { store, metrics },
) => {
  // Prometheus scrapes without credentials, like the health checks; it shows counts, no payloads.
  app.get('/metrics', PROBE, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
  app.get('/healthz', PROBE, async () => ({
    status: 'ok',
  }));
  app.get('/readyz', PROBE, async (request, reply) => {
    try {
      await withDeadline(store.ping(), READY_TIMEOUT_MS);
      return { status: 'ready' };
    } catch (error) {
      request.log.warn({ err: error }, 'store not reachable');
      return reply.code(503).send(errorBody('NOT_READY', 'The store is not reachable'));
    }
  });
};
