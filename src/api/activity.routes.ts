/**
 * `GET /api/v1/activity` (permission `integration`): deliveries and accepted events per minute
 * over the last `minutes`, summed over every process (src/store/activity-store.ts), and the
 * queue's figures sampled once a minute (src/store/queue-history.ts), for the console's dashboard.
 * An admin sees every owner's deliveries and events, others their own; the queue is the
 * deployment's, as on `/metrics`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Kysely } from 'kysely';
import { ownerScope } from '../auth/authorize.js';
import type { Database } from '../store/schema.js';
import { MINUTE_MS, minuteOf, readActivity } from '../store/activity-store.js';
import { readQueueHistory } from '../store/queue-history.js';

const ActivityMinute = Type.Object({
  minute: Type.String({ description: "the minute's start, RFC 3339" }),
  succeeded: Type.Integer({ description: 'deliveries that succeeded' }),
  failed: Type.Integer({ description: 'deliveries that ended failed' }),
  retried: Type.Integer({ description: 'attempts that failed and led to a retry' }),
  events: Type.Integer({ description: 'events accepted at ingest' }),
});

const QueueMinute = Type.Object({
  minute: Type.String({ description: "the minute's start, RFC 3339" }),
  pending: Type.Integer({ description: 'pending deliveries, every owner’s' }),
  oldestPendingAgeSeconds: Type.Number({
    description:
      'age of the oldest pending delivery that is due, of an enabled integration (0 when none is)',
  }),
  openCircuits: Type.Integer({
    description: 'enabled integrations whose circuit is open, or half-open with deliveries pending',
  }),
});

export interface ActivityRoutesOptions {
  db: Kysely<Database>;
  clock?: () => number;
}

export const activityRoutes: FastifyPluginAsyncTypebox<ActivityRoutesOptions> = async (
  app,
  { db, clock = Date.now },
) => {
  app.get(
    '/api/v1/activity',
    {
      config: { access: 'integration' },
      schema: {
        tags: ['deliveries'],
        summary:
          'Deliveries and accepted events per minute over the last minutes, every process summed (written every 10 s), and the queue sampled once a minute',
        querystring: Type.Object({
          minutes: Type.Integer({
            minimum: 1,
            maximum: 1440,
            default: 60,
            description: 'how many minutes back, the current one included',
          }),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(ActivityMinute, {
              description: 'one per minute that has counts, oldest first',
            }),
            queue: Type.Array(QueueMinute, {
              description:
                'the queue once a minute (the whole deployment’s, as on /metrics), oldest first; a minute no process was running has none',
            }),
          }),
        },
      },
    },
    async (request) => {
      const since = minuteOf(clock()) - (request.query.minutes - 1) * MINUTE_MS;
      const rows = await readActivity(db, since, ownerScope(request));
      const queue = await readQueueHistory(db, since);
      return {
        items: rows.map((r) => ({ ...r, minute: new Date(r.minute).toISOString() })),
        queue: queue.map((q) => ({ ...q, minute: new Date(q.minute).toISOString() })),
      };
    },
  );
};
