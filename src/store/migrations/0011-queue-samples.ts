import type { Kysely } from 'kysely';
import type { Migration } from './index.js';

/**
 * `queue_samples`: the queue's figures once a minute (src/store/queue-history.ts), for the
 * console's dashboard, so its queue depth chart has the last hour from the moment it opens and
 * holds in a split deployment. One row per minute for the whole deployment: the first process to
 * look in a minute writes it.
 */
export const migration0011QueueSamples: Migration = {
  name: '0011-queue-samples',
  async up(db: Kysely<unknown>, backend) {
    const float = backend === 'postgres' ? ('double precision' as const) : ('real' as const);
    await db.schema
      .createTable('queue_samples')
      .addColumn('minute', 'bigint', (c) => c.primaryKey())
      .addColumn('pending', 'bigint', (c) => c.notNull())
      .addColumn('oldest_pending_age_seconds', float, (c) => c.notNull())
      .addColumn('open_circuits', 'integer', (c) => c.notNull())
      .addColumn('sampled_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
