/**
 * Deliveries (permission `integration`): the log with every attempt, retry of one delivery,
 * cancel. Replays of an integration's failed deliveries are jobs: replay.routes.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { ownerScope } from '../auth/authorize.js';
import type { DeliveryReadStore } from '../store/delivery-read-store.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';
import { IdParams, PageQuery, pageOf } from './schemas.js';
import { idCursor, withIdCursor } from './page-cursor.js';

const access = { access: 'integration' } as const;
const tags = ['deliveries'];
const Status = Type.Enum(['pending', 'succeeded', 'failed', 'cancelled']);

const Delivery = Type.Object({
  id: Type.String(),
  ownerId: Type.String(),
  integrationId: Type.String(),
  kind: Type.String({ description: '`event`, `campaign` or `ivr`' }),
  eventId: Type.Union([Type.String(), Type.Null()]),
  campaignId: Type.Union([Type.String(), Type.Null()]),
  contactId: Type.Union([Type.String(), Type.Null()]),
  status: Status,
  attempts: Type.Integer(),
  nextAttemptAt: Type.Union([Type.String(), Type.Null()]),
  waiting: Type.Boolean({ description: 'waiting for an earlier delivery of the same call' }),
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  completedAt: Type.Union([Type.String(), Type.Null()]),
});

const Attempt = Type.Object({
  attempt: Type.Integer(),
  at: Type.String(),
  integrationVersion: Type.Integer(),
  outcome: Type.String(),
  durationMs: Type.Number(),
  request: Type.Unknown({ description: 'the request as sent, secrets masked' }),
  response: Type.Unknown({ description: 'status, headers and the first 64 KiB of the body' }),
  error: Type.Union([Type.String(), Type.Null()]),
});

export interface DeliveriesRoutesOptions {
  deliveries: DeliveryReadStore;
  queue: DeliveryQueue;
  onEnqueued?: () => void;
}

export const deliveriesRoutes: FastifyPluginAsyncTypebox<DeliveriesRoutesOptions> = async (
  app,
  { deliveries, queue, onEnqueued },
) => {
  const mustFind = async (id: string, owner: string | undefined) => {
    const found = await deliveries.find(id, owner);
    if (found === undefined) throw new AppError('NOT_FOUND', `No delivery ${id}`);
    return found;
  };

  app.get(
    '/api/v1/deliveries',
    {
      config: access,
      schema: {
        tags,
        summary: 'The delivery log, newest first',
        querystring: Type.Intersect([
          PageQuery,
          Type.Object({
            integrationId: Type.Optional(Type.String({ maxLength: 100 })),
            status: Type.Optional(Status),
            kind: Type.Optional(Type.Enum(['event', 'campaign', 'ivr'])),
            eventId: Type.Optional(Type.String({ maxLength: 200 })),
            campaignId: Type.Optional(Type.String({ maxLength: 100 })),
          }),
        ]),
        response: { 200: pageOf(Delivery) },
      },
    },
    async (request) => {
      const { cursor, limit, ...filter } = request.query;
      const page = { cursor: idCursor(cursor), limit };
      return withIdCursor(await deliveries.list({ ...filter, ownerId: ownerScope(request) }, page));
    },
  );

  app.get(
    '/api/v1/deliveries/:id',
    {
      config: access,
      schema: {
        tags,
        summary: 'One delivery with every attempt',
        params: IdParams,
        response: {
          200: Type.Intersect([Delivery, Type.Object({ attemptLog: Type.Array(Attempt) })]),
        },
      },
    },
    async (request) => mustFind(request.params.id, ownerScope(request)),
  );

  app.post(
    '/api/v1/deliveries/:id/retry',
    {
      config: access,
      schema: {
        tags,
        summary: 'Send a failed delivery again now, with a fresh retry budget',
        params: IdParams,
        response: { 202: Delivery },
      },
    },
    async (request, reply) => {
      const owner = ownerScope(request);
      const current = await mustFind(request.params.id, owner);
      if (!(await queue.retryNow(current.id, owner))) {
        // Said of the delivery as it is now: another retry, a cancel or a worker may have moved
        // it between the read above and the retry.
        throw new AppError(
          'CONFLICT',
          await queue.whyNotRetried(await mustFind(current.id, owner)),
        );
      }
      onEnqueued?.();
      const { attemptLog: _log, ...delivery } = await mustFind(current.id, owner);
      return reply.code(202).send(delivery);
    },
  );

  app.post(
    '/api/v1/deliveries/:id/cancel',
    {
      config: access,
      schema: {
        tags,
        summary: 'Cancel a pending delivery',
        params: IdParams,
        response: { 200: Delivery },
      },
    },
    async (request) => {
      const owner = ownerScope(request);
      const current = await mustFind(request.params.id, owner);
      if (!(await queue.cancel(current.id, owner))) {
        // Its status now, not at the read above: a worker or another cancel may have ended it.
        const now = await mustFind(current.id, owner);
        throw new AppError(
          'CONFLICT',
          `Delivery ${now.id} is ${now.status}; only a pending delivery can be cancelled`,
        );
      }
      const { attemptLog: _log, ...delivery } = await mustFind(current.id, owner);
      return delivery;
    },
  );
};
