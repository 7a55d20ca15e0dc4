import { sql, type Kysely } from 'kysely';
import type { Migration } from './index.js';

/**
 * `replay_jobs`: a replay of an integration's failed deliveries (`POST
 * /api/v1/integrations/:id/replay`) runs in a worker process, a batch per transaction, instead of
 * one transaction over every failed delivery. The resume position (`after_created_at`,
 * `after_id`: the last delivery a batch handled) and the lease let another process take a job over
 * after a crash where it stopped (src/queue/replay-runner.ts, docs/delivery.md "Replay").
 */
export const migration0006ReplayJobs: Migration = {
  name: '0006-replay-jobs',
  async up(db: Kysely<unknown>) {
    const ms = 'bigint' as const;
    await db.schema
      .createTable('replay_jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('owner_id', 'text', (c) => c.notNull())
      .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id'))
      .addColumn('since', ms, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('total', 'integer', (c) => c.notNull())
      .addColumn('requeued', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('after_created_at', ms)
      .addColumn('after_id', 'text')
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', ms)
      .addColumn('error', 'text')
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('updated_at', ms, (c) => c.notNull())
      .addColumn('finished_at', ms)
      .execute();
    // The API lists an integration's jobs newest first (ids are UUIDv7, so in creation order).
    await db.schema
      .createIndex('replay_jobs_integration')
      .on('replay_jobs')
      .columns(['integration_id', 'id'])
      .execute();
    // Workers poll for jobs to run: only running ones are indexed.
    await sql`create index replay_jobs_running on replay_jobs (created_at)
      where status = 'running'`.execute(db);
  },
};
