import type { FastifyPluginAsync } from 'fastify';
import type { Store } from '../store/db.js';
import { errorBody } from '../errors.js';

/** `/healthz`: the process answers. `/readyz`: and its store is reachable. Both are public. */
export const healthRoutes: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  app.get('/healthz', { schema: { hide: true }, config: { access: 'public' } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    { schema: { hide: true }, config: { access: 'public' } },
    async (request, reply) => {
      try {
        await store.ping();
        return { status: 'ready' };
      } catch (error) {
        request.log.warn({ err: error }, 'store not reachable');
        return reply.code(503).send(errorBody('NOT_READY', 'The store is not reachable'));
      }
    },
  );
};
