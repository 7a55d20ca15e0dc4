import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, TEST_DATABASE_URL } from '../helpers/store.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { ReplayJobStore } from '../../src/store/replay-job-store.js';
import { LEASE_MS, replayFixture, type ReplayFixture } from './replay-fixtures.js';

// A batch that meets a transient error (SQLite busy past its timeout, a PostgreSQL connection
// cut) rolls back and the job is tried again after its lease, from its last committed batch, a
// bounded number of times in a row; the error shows in the job meanwhile. Any other error ends
// the job `failed` at once.
describe.each(DIALECTS)('replay batches that fail on %s', (backend) => {
  let f: ReplayFixture;
  const runner = (id: string, logger?: Logger, maxBatchFailures?: number) =>
    f.runner(id, {
      ...(logger ? { logger } : {}),
      ...(maxBatchFailures ? { maxBatchFailures } : {}),
    });

  /**
   * Runs `run` while the first batch it runs meets a real transient error, `next` being the
   * first delivery that batch requeues. SQLite: a second connection takes the write lock when the
   * runner has leased the job and holds it past the store's (shortened) busy timeout, then lets
   * go when the runner logs the failure. PostgreSQL: a second session locks `next`, and the
   * session whose batch waits on it is terminated, as a server restart would.
   */
  const withFailingBatch = async <T>(
    next: string,
    run: (logger: Logger) => Promise<T>,
  ): Promise<T> => {
    if (f.t.database.kind === 'sqlite') {
      const other = new SqliteDatabase(f.t.database.file);
      await sql`pragma busy_timeout = 50`.execute(f.t.store.db);
      let armed = true;
      const logger = createLogger('info', {
        write(line: string) {
          const { msg } = JSON.parse(line) as { msg: string };
          if (msg === 'replay job taken' && armed) {
            armed = false;
            other.exec('begin immediate');
          }
          if (msg === 'replay batch failed' && other.inTransaction) other.exec('rollback');
        },
      });
      try {
        return await run(logger);
      } finally {
        other.close();
        await sql`pragma busy_timeout = 10000`.execute(f.t.store.db);
      }
    }
    const other = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      options: `-c search_path=${f.t.location}`,
    });
    await other.connect();
    try {
      await other.query('begin');
      await other.query('select id from deliveries where id = $1 for update', [next]);
      const { rows } = await other.query<{ pid: number }>('select pg_backend_pid() as pid');
      const running = run(createLogger('silent'));
      const waiting = await waitForSessionBlockedBy(rows[0]!.pid);
      await other.query('select pg_terminate_backend($1)', [waiting]);
      await other.query('rollback');
      return await running;
    } finally {
      await other.end();
    }
  };
  const waitForSessionBlockedBy = async (pid: number): Promise<number> => {
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      const { rows } = await sql<{ pid: number }>`select pid from pg_stat_activity
        where ${pid} = any(pg_blocking_pids(pid))`.execute(f.t.store.db);
      if (rows[0] !== undefined) return rows[0].pid;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no session waited on session ${pid}'s lock within 5 s`);
  };
  const transientError = backend === 'sqlite' ? /\(SQLITE_BUSY\)$/ : /\(57P01\)$/;

  beforeEach(async () => {
    f = await replayFixture(backend);
  });
  afterEach(async () => {
    await f.t.destroy();
  });

  it('tries the batch again after the lease, from the last committed batch, showing the error meanwhile', async () => {
    const job = await f.newJob();
    expect(await runner('r1').runOnce({ batches: 1 })).toMatchObject({ requeued: 3 });

    const failed = await withFailingBatch(f.ids[3]!, (logger) =>
      runner('r1', logger).runOnce({ jobId: job.id }),
    );
    expect(failed).toMatchObject({ id: job.id, status: 'running', requeued: 3 });
    const retryAt = new Date(f.clock.ms + LEASE_MS).toISOString();
    expect(failed!.error).toMatch(
      new RegExp(`^batch failed \\(try 1 of 5; tried again from ${retryAt}\\): `),
    );
    expect(failed!.error).toMatch(transientError);
    expect(await f.stored(job.id)).toMatchObject({
      status: 'running',
      batch_failures: 1,
      lease_owner: null,
      lease_until: f.clock.ms + LEASE_MS,
      finished_at: null,
    });
    expect(await f.pendingCount()).toBe(3);

    // Given back until then: not even the runner that had it takes it earlier.
    f.clock.advance(LEASE_MS - 1);
    expect(await runner('r1').runOnce()).toBeUndefined();
    expect(await runner('r2').runOnce()).toBeUndefined();
    f.clock.advance(1);
    const done = await runner('r2').runOnce();
    expect(done).toMatchObject({ status: 'succeeded', total: 8, requeued: 8, error: null });
    expect(await f.stored(job.id)).toMatchObject({ batch_failures: 0 });
    expect(await f.pendingCount()).toBe(8);
  });

  it('shows no error once a job waiting to try its batch again is cancelled', async () => {
    const job = await f.newJob();
    const failed = await withFailingBatch(f.ids[0]!, (logger) =>
      runner('r1', logger).runOnce({ jobId: job.id }),
    );
    expect(failed!.error).toMatch(transientError);
    const cancelled = await new ReplayJobStore(f.t.store.db, f.clock.now).cancel(
      f.integration,
      job.id,
      undefined,
    );
    expect(cancelled).toMatchObject({ cancelled: true, job: { status: 'cancelled', error: null } });
    expect(await f.stored(job.id)).toMatchObject({ status: 'cancelled', error: null });
    // Nothing runs it after its lease.
    f.clock.advance(LEASE_MS);
    expect(await runner('r2').runOnce()).toBeUndefined();
    expect(await f.pendingCount()).toBe(0);
  });

  it('ends the job failed, keeping the error, when its batch fails the most times in a row', async () => {
    const job = await f.newJob();
    const first = await withFailingBatch(f.ids[0]!, (logger) =>
      runner('r1', logger, 2).runOnce({ jobId: job.id }),
    );
    expect(first).toMatchObject({ status: 'running', requeued: 0 });
    expect(first!.error).toMatch(/^batch failed \(try 1 of 2; /);
    f.clock.advance(LEASE_MS);
    const second = await withFailingBatch(f.ids[0]!, (logger) =>
      runner('r2', logger, 2).runOnce({ jobId: job.id }),
    );
    expect(second).toMatchObject({ status: 'failed', requeued: 0, finishedAt: expect.any(String) });
    expect(second!.error).toMatch(/^batch failed 2 times in a row, the job gave up: /);
    expect(second!.error).toMatch(transientError);
    expect(await f.stored(job.id)).toMatchObject({
      status: 'failed',
      batch_failures: 2,
      lease_owner: null,
      lease_until: null,
    });
    f.clock.advance(LEASE_MS);
    expect(await runner('r3').runOnce()).toBeUndefined();
    expect(await f.pendingCount()).toBe(0);
  });

  it('ends the job failed at once on an error that trying again would not cure', async () => {
    const job = await f.newJob();
    // Every batch reads `events` (a delivery whose event was pruned is not requeued).
    await sql`alter table events rename to events_elsewhere`.execute(f.t.store.db);
    const done = await runner('r1').runOnce({ jobId: job.id });
    expect(done).toMatchObject({ status: 'failed', requeued: 0 });
    expect(done!.error).toMatch(/events/);
    expect(done!.error).not.toMatch(/^batch failed/);
    expect(await f.stored(job.id)).toMatchObject({ status: 'failed', batch_failures: 0 });
  });
});
