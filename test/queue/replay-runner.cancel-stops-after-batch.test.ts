import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, type TestStore } from '../helpers/store.js';
import { ReplayRunner } from '../../src/queue/replay-runner.js';
import {
  createReplayJob,
  findReplayJob,
  ReplayJobStore,
  type ReplayJobView,
} from '../../src/store/replay-job-store.js';
import { replayBatch } from '../../src/store/replay-batch-store.js';
import { inWriteTransaction } from '../../src/store/write-transaction.js';
import type { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { clockedQueue, delivery, enqueue, FakeClock, seedIntegration } from './queue-fixtures.js';

const LEASE_MS = 30_000;

// A cancelled replay job ends `cancelled` at once; the runner running it stops after the batch
// under way, and no batch requeues anything once the cancel has committed. What was requeued
// stays pending.
describe.each(DIALECTS)('cancelling a replay job on %s', (backend) => {
  let t: TestStore;
  let clock: FakeClock;
  let queue: DeliveryQueue;
  let owner: string;
  let integration: string;
  let ids: string[];

  const runner = (id: string) =>
    new ReplayRunner(t.store, {
      id,
      batchSize: 3,
      leaseMs: LEASE_MS,
      pollMs: 10,
      clock: clock.now,
    });
  const jobs = () => new ReplayJobStore(t.store.db, clock.now);
  const newJob = () =>
    createReplayJob(t.store.db, { ownerId: owner, integrationId: integration, since: 0 }, clock.ms);
  const pendingCount = async () =>
    (
      await t.store.db
        .selectFrom('deliveries')
        .select('id')
        .where('id', 'in', ids)
        .where('status', '=', 'pending')
        .execute()
    ).length;
  const stored = async (id: string) =>
    (await findReplayJob(t.store.db, integration, id, undefined))!;
  /** One batch of job `id` as `leaseOwner`, in a write transaction of its own. */
  const batchAs = (id: string, leaseOwner: string) =>
    inWriteTransaction(t.store, (trx) =>
      replayBatch(trx, { id, leaseOwner }, 3, clock.ms, LEASE_MS),
    );

  beforeEach(async () => {
    ({ t, clock, queue, owner } = await clockedQueue(backend));
    integration = await seedIntegration(t.store, owner);
    const items = Array.from({ length: 8 }, () => delivery(owner, integration));
    await enqueue(t.store, queue, items);
    ids = items.map((item) => item.id);
    await t.store.db.updateTable('deliveries').set({ status: 'failed', attempts: 1 }).execute();
    clock.advance(1_000);
  });
  afterEach(async () => {
    await t.destroy();
  });

  it('stops the runner running it after the batch under way; what it requeued stays pending', async () => {
    const job = await newJob();
    let cancelling: ReturnType<ReplayJobStore['cancel']> | undefined;
    const done = await runner('r1').runOnce({
      onProgress: () => {
        cancelling ??= jobs().cancel(integration, job.id, owner);
      },
    });
    expect(await cancelling).toMatchObject({ cancelled: true, job: { status: 'cancelled' } });
    expect(done).toMatchObject({ id: job.id, status: 'cancelled', total: 8 });
    // Asked after the first batch: on PostgreSQL the second may have taken the job's row first,
    // and the cancel then waited for its commit. Never a third.
    expect([3, 6]).toContain(done!.requeued);
    expect(await pendingCount()).toBe(done!.requeued);
    expect(await stored(job.id)).toMatchObject({
      status: 'cancelled',
      requeued: done!.requeued,
      lease_owner: null,
      lease_until: null,
      finished_at: clock.ms,
    });
    // Nobody takes it on again, not even after its lease would have ended.
    clock.advance(LEASE_MS);
    expect(await runner('r2').runOnce()).toBeUndefined();
    expect(await pendingCount()).toBe(done!.requeued);
  });

  it('runs no batch once the cancel has committed, even for the runner holding the lease', async () => {
    const job = await newJob();
    expect(await runner('r1').runOnce({ batches: 1 })).toMatchObject({ requeued: 3 });
    const cancelled = await jobs().cancel(integration, job.id, owner);
    expect(cancelled).toMatchObject({ cancelled: true, job: { status: 'cancelled', requeued: 3 } });
    expect(await batchAs(job.id, 'r1')).toBeUndefined();
    expect(await runner('r1').runOnce({ jobId: job.id })).toBeUndefined();
    expect(await pendingCount()).toBe(3);
  });

  it('waits for the batch under way to commit, then cancels: the next batch finds it cancelled', async () => {
    const job = await newJob();
    await runner('r1').runOnce({ batches: 1 });
    let commit!: () => void;
    const mayCommit = new Promise<void>((resolve) => (commit = resolve));
    let batchWritten!: () => void;
    const written = new Promise<void>((resolve) => (batchWritten = resolve));
    const batch = inWriteTransaction(t.store, async (trx) => {
      const result = await replayBatch(
        trx,
        { id: job.id, leaseOwner: 'r1' },
        3,
        clock.ms,
        LEASE_MS,
      );
      batchWritten();
      await mayCommit;
      return result;
    });
    await written;
    let settled = false;
    const cancelling = jobs()
      .cancel(integration, job.id, owner)
      .finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBe(false);
    commit();
    expect(await batch).toMatchObject({ requeued: 3, job: { status: 'running', requeued: 6 } });
    expect(await cancelling).toMatchObject({
      cancelled: true,
      job: { status: 'cancelled', requeued: 6 },
    });
    expect(await batchAs(job.id, 'r1')).toBeUndefined();
    expect(await pendingCount()).toBe(6);
  });

  it('cancels on the runner’s abort signal after the batch under way (the CLI’s Ctrl-C)', async () => {
    const job = await newJob();
    const stop = new AbortController();
    const done = await runner('r1').runOnce({
      signal: stop.signal,
      onProgress: () => stop.abort(),
    });
    expect(done).toMatchObject({ id: job.id, status: 'cancelled', total: 8, requeued: 3 });
    expect(await stored(job.id)).toMatchObject({ status: 'cancelled', requeued: 3 });
    expect(await pendingCount()).toBe(3);
  });

  it('cancels a job another runner holds when the watcher’s signal aborts; that runner stops', async () => {
    const job = await newJob();
    await runner('r1').runOnce({ batches: 1 });
    const stop = new AbortController();
    const seen: ReplayJobView[] = [];
    const done = await runner('r2').runToEnd(
      { id: job.id, integrationId: integration },
      (view) => {
        seen.push(view);
        stop.abort();
      },
      stop.signal,
    );
    expect(seen.map((view) => [view.status, view.requeued])).toEqual([['running', 3]]);
    expect(done).toMatchObject({ status: 'cancelled', requeued: 3 });
    expect(await batchAs(job.id, 'r1')).toBeUndefined();
    expect(await pendingCount()).toBe(3);
  });

  it('leaves a finished job as it ended, and says how; an unknown or foreign job is not found', async () => {
    const job = await newJob();
    expect(await runner('r1').runOnce()).toMatchObject({ status: 'succeeded', requeued: 8 });
    const again = await jobs().cancel(integration, job.id, owner);
    expect(again).toMatchObject({ cancelled: false, job: { status: 'succeeded', requeued: 8 } });
    expect(await jobs().cancel(integration, 'nope', owner)).toBeUndefined();
    expect(await jobs().cancel(integration, job.id, 'someone-else')).toBeUndefined();
  });
});
