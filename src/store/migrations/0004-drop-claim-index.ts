import type { Kysely } from 'kysely';
import type { Migration } from './index.js';

/**
 * `deliveries_claim` (pending deliveries by due time, across integrations) served the claim before
 * lanes (0002); since then only the `/metrics` snapshot read it, while every insert, claim and
 * completion kept it up to date. Claims read `deliveries_lane`, and so does the snapshot now
 * (`queueSnapshot` in src/store/lane-store.ts): one probe per lane.
 */
export const migration0004DropClaimIndex: Migration = {
  name: '0004-drop-claim-index',
  async up(db: Kysely<unknown>) {
    await db.schema.dropIndex('deliveries_claim').execute();
  },
};
