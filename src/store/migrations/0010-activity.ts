import type { Kysely } from 'kysely';
import type { Migration } from './index.js';

/**
 * `activity`: deliveries and events counted per minute, owner and process (src/store/
 * activity-store.ts), for the console's dashboard. Each process adds its counts to its own rows
 * every 10 s; `GET /api/v1/activity` sums them over processes, so an API-only process shows what
 * the worker processes did. Rows older than 7 days are deleted.
 */
export const migration0010Activity: Migration = {
  name: '0010-activity',
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('activity')
      .addColumn('minute', 'bigint', (c) => c.notNull())
      .addColumn('owner_id', 'text', (c) => c.notNull())
      .addColumn('process_id', 'text', (c) => c.notNull())
      .addColumn('succeeded', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('retried', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('events', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('activity_pk', ['minute', 'owner_id', 'process_id'])
      .execute();
  },
};
