import { sql, type Kysely } from 'kysely';
import type { Migration } from './index.js';

/**
 * `deliveries_claim` (pending deliveries by due time, across integrations) served the claim before
 * lanes (0002); since then only the `/metrics` snapshot and the sweep of parked deliveries read
 * it, while every insert, claim and completion kept it up to date. Claims read `deliveries_lane`,
 * and so does the snapshot (`queueSnapshot`, now in src/store/queue-snapshot.ts, one probe per
 * lane). The sweep (`unparkOrphans`, now in src/store/delivery-batch-store.ts) gets
 * `deliveries_parked`, which holds only parked deliveries (due at `BLOCKED_AT`,
 * src/store/delivery-store.ts): few rows, and untouched by a claim or a completion of any other.
 */
export const migration0004DropClaimIndex: Migration = {
  name: '0004-drop-claim-index',
  async up(db: Kysely<unknown>) {
    await db.schema.dropIndex('deliveries_claim').execute();
    await sql`create index deliveries_parked on deliveries (integration_id)
      where status = 'pending' and next_attempt_at = 8640000000000000`.execute(db);
  },
};
