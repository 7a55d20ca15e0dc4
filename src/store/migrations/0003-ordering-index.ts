import { sql, type Kysely } from 'kysely';
import type { Migration } from './index.js';

/**
 * `deliveries_ordering` becomes an index on one expression, the lane key
 * `integration_id || ' ' || ordering_key`, then `sequence, id`. Every per-call ordering look-up
 * compares that expression (`LANE_KEY` in src/store/delivery-store.ts), and no other index has it:
 * with a two-column key, PostgreSQL, whose statistics of a fast-changing queue table are often
 * stale, took the `deliveries_lane` index on `integration_id` alone and walked every pending
 * delivery of the integration per look-up (0.2–1 s per claim at 20 k pending). Integration ids
 * are UUIDs, so the space cannot make two pairs one key.
 */
export const migration0003OrderingIndex: Migration = {
  name: '0003-ordering-index',
  async up(db: Kysely<unknown>) {
    await db.schema.dropIndex('deliveries_ordering').execute();
    await sql`create index deliveries_ordering on deliveries
      ((integration_id || ' ' || ordering_key), sequence, id)
      where status = 'pending' and ordering_key is not null`.execute(db);
  },
};
