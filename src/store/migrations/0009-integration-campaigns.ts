import { sql, type Kysely } from 'kysely';
import type { Backend } from '../db.js';
import type { Migration } from './index.js';

/**
 * Integration campaigns (SPEC §6, docs/campaigns.md): what a run needs on the campaign row, and
 * the indexes a run and its progress read.
 *
 * - `campaigns`: the run's snapshot of its list (`total`, `end_position`: the contacts there when
 *   it started), where the next contact is (`next_position`) and when it may be sent
 *   (`next_send_at`, fractional milliseconds: 1000 / ratePerSecond is rarely whole), when it
 *   started and ended, and why it stopped when Callhook stopped it. On PostgreSQL
 *   `rate_per_second` becomes `double precision`: as `real` (4 bytes) a rate of 0.1 read back as
 *   0.10000000149011612.
 * - `deliveries`: one delivery per contact of a campaign (`deliveries_campaign_contact`, unique:
 *   a run that resumes after a crash cannot send a contact twice), and the campaign's deliveries
 *   by status for its progress (`deliveries_campaign_status`). Both partial: event deliveries
 *   carry a campaign id too, and are not in them. The second is keyed by status first, so the
 *   first is the only index led by `campaign_id`: a look-up of contacts' deliveries has one plan
 *   whatever the statistics say (with two, PostgreSQL could take the other and filter by contact).
 */
export const migration0009IntegrationCampaigns: Migration = {
  name: '0009-integration-campaigns',
  async up(db: Kysely<unknown>, backend: Backend) {
    const ms = 'bigint' as const;
    if (backend === 'postgres') {
      await sql`alter table campaigns alter column rate_per_second type double precision`.execute(
        db,
      );
    }
    await db.schema
      .alterTable('campaigns')
      .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable('campaigns')
      .addColumn('end_position', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable('campaigns')
      .addColumn('next_position', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable('campaigns')
      .addColumn('next_send_at', 'double precision', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('campaigns').addColumn('started_at', ms).execute();
    await db.schema.alterTable('campaigns').addColumn('finished_at', ms).execute();
    await db.schema.alterTable('campaigns').addColumn('stop_reason', 'text').execute();
    // Workers look for running campaigns several times a second: only those are indexed.
    await sql`create index campaigns_running on campaigns (id) where state = 'running'`.execute(db);

    await sql`create unique index deliveries_campaign_contact on deliveries (campaign_id, contact_id)
      where kind = 'campaign'`.execute(db);
    await sql`create index deliveries_campaign_status on deliveries (status, campaign_id)
      where kind = 'campaign'`.execute(db);
  },
};
