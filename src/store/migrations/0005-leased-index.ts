import { sql, type Kysely } from 'kysely';
import type { Migration } from './index.js';

/**
 * `deliveries_leased` (the deliveries under a lease, by integration and lease end) also holds a
 * delivery cancelled while its request is out: it keeps its lease until its late completion or
 * the lease's end, and counts against its integration's concurrency limit until then
 * (`countLeased` in src/store/lane-store.ts; docs/delivery.md, "Lanes, limits and isolation").
 * Only rows in flight are in it, so it stays as small as the number of requests out.
 */
export const migration0005LeasedIndex: Migration = {
  name: '0005-leased-index',
  async up(db: Kysely<unknown>) {
    await db.schema.dropIndex('deliveries_leased').execute();
    await sql`create index deliveries_leased on deliveries (integration_id, lease_until)
      where lease_owner is not null`.execute(db);
  },
};
