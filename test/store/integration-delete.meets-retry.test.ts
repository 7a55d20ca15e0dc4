/**
 * A retry or a replay batch committing beside a delete of its integration leaves no pending
 * delivery of the deleted integration (nothing would ever send or end it): whichever commits
 * first, the delete cancels what the retry moved, or the retry moves nothing. On PostgreSQL the
 * retry holds the integration's row in share mode and the delete cancels again after writing it;
 * SQLite runs one write transaction at a time (one connection per process), so there the second
 * simply waits for the first.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { createTestStore, DIALECTS, TEST_DATABASE_URL, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { IntegrationStore } from '../../src/store/integration-store.js';
import { inWriteTransaction } from '../../src/store/write-transaction.js';
import { isPostgres } from '../../src/store/bulk-insert.js';
import { requeueFailed } from '../../src/store/delivery-actions.js';
import { createReplayJob } from '../../src/store/replay-job-store.js';
import { leaseReplayJob, replayBatch } from '../../src/store/replay-batch-store.js';
import type { Database } from '../../src/store/schema.js';
import { delivery, enqueue, seedIntegration, seedOwner } from '../queue/queue-fixtures.js';

describe.each(DIALECTS)('a retry meeting a delete of its integration on %s', (backend) => {
  let t: TestStore;
  let owner: string;
  let integration: string;
  let ids: string[];

  beforeEach(async () => {
    t = await createTestStore(backend);
    owner = await seedOwner(t.store);
    integration = await seedIntegration(t.store, owner);
    const queue = new DeliveryQueue(t.store);
    const ds = [1, 2, 3].map((sequence) =>
      delivery(owner, integration, { orderingKey: `call:${sequence}`, sequence }),
    );
    await enqueue(t.store, queue, ds);
    ids = ds.map((d) => d.id);
    await t.store.db
      .updateTable('deliveries')
      .set({ status: 'failed', attempts: 1, completed_at: Date.now() })
      .execute();
  });
  afterEach(async () => {
    await t.destroy();
  });

  const statuses = async () =>
    (
      await t.store.db
        .selectFrom('deliveries')
        .select(['status', 'last_error'])
        .orderBy('id')
        .execute()
    ).map((row) => `${row.status} ${row.last_error ?? ''}`.trim());

  /**
   * Runs `action` in a write transaction kept open until the delete waits for it (PostgreSQL: a
   * session blocked by it, or the delete done without waiting; SQLite: a moment), then commits.
   * Answers whether the delete deleted.
   */
  const deleteDuring = async (action: (trx: Kysely<Database>) => Promise<unknown>) => {
    let started!: (pid: number) => void;
    const begun = new Promise<number>((resolve) => (started = resolve));
    let commit!: () => void;
    const held = new Promise<void>((resolve) => (commit = resolve));
    const retry = inWriteTransaction(t.store, async (trx) => {
      await action(trx);
      const pid = isPostgres(trx)
        ? (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!.pid
        : 0;
      started(pid);
      await held;
    });
    const pid = await begun;
    let done = false;
    const deleted = new IntegrationStore(t.store).delete(integration, undefined).finally(() => {
      done = true;
    });
    if (backend === 'postgres') {
      for (let tries = 0; !done; tries += 1) {
        const { rows } = await sql<{ n: string }>`
          select count(*) as n from pg_stat_activity
          where ${pid} = any(pg_blocking_pids(pid))`.execute(t.store.db);
        if (Number(rows[0]!.n) > 0) break;
        if (tries > 200) throw new Error('the delete neither waited nor ended');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } else {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    commit();
    await retry;
    return deleted;
  };

  it('cancels a delivery that a retry moved back to pending while the delete ran', async () => {
    expect(
      await deleteDuring((trx) => requeueFailed(trx, { id: ids[0]! }, undefined, Date.now())),
    ).toBe(true);
    expect(await statuses()).toEqual(['cancelled integration deleted', 'failed', 'failed']);
  });

  it("cancels what a replay job's batch moved back to pending while the delete ran", async () => {
    const now = Date.now();
    const job = await createReplayJob(
      t.store.db,
      { ownerId: owner, integrationId: integration, since: 0 },
      now,
    );
    await inWriteTransaction(t.store, (trx) => leaseReplayJob(trx, 'w1', now, 30_000, job.id));
    expect(
      await deleteDuring(async (trx) => {
        const batch = await replayBatch(trx, { id: job.id, leaseOwner: 'w1' }, 2, now, 30_000);
        expect(batch?.requeued).toBe(2);
      }),
    ).toBe(true);
    expect(await statuses()).toEqual([
      'cancelled integration deleted',
      'cancelled integration deleted',
      'failed',
    ]);
  });

  it.runIf(backend === 'postgres')(
    "moves nothing when the delete wrote the integration's row first",
    async () => {
      // A session in the delete's place, between its write of the integration's row and its commit.
      const deleter = new pg.Client({
        connectionString: TEST_DATABASE_URL,
        options: `-c search_path=${t.location}`,
      });
      await deleter.connect();
      try {
        await deleter.query('begin');
        await deleter.query('update integrations set deleted_at = $2, enabled = 0 where id = $1', [
          integration,
          Date.now(),
        ]);
        const retried = new DeliveryQueue(t.store).retryNow(ids[0]!);
        // The retry waits for the delete's commit…
        for (let tries = 0; ; tries += 1) {
          const { rows } = await deleter.query<{ n: string }>(
            'select count(*) as n from pg_stat_activity where pg_backend_pid() = any(pg_blocking_pids(pid))',
          );
          if (Number(rows[0]!.n) > 0) break;
          if (tries > 200) break;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        await deleter.query('commit');
        // …then finds the integration deleted.
        expect(await retried).toBe(false);
      } finally {
        await deleter.end();
      }
      expect(await statuses()).toEqual(['failed', 'failed', 'failed']);
    },
  );
});
