import type { Kysely } from 'kysely';
import type { Migration } from './index.js';

/**
 * `replay_jobs.batch_failures`: the batches in a row that failed with a transient error (SQLite
 * busy, a PostgreSQL serialization failure or lost connection). Such a job is tried again after
 * its lease instead of ending `failed`, until this reaches the runner's bound
 * (src/queue/replay-runner.ts, docs/delivery.md "Replay jobs"). A job can also end `cancelled`
 * now; `status` is text, so that needs no change here.
 */
export const migration0007ReplayJobRetries: Migration = {
  name: '0007-replay-job-retries',
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('replay_jobs')
      .addColumn('batch_failures', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
