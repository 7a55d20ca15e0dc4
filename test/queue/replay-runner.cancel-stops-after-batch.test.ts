import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { ReplayJobStore, type ReplayJobView } from '../../src/store/replay-job-store.js';
import { replayBatch } from '../../src/store/replay-batch-store.js';
import { inWriteTransaction } from '../../src/store/write-transaction.js';
import { LEASE_MS, replayFixture, type ReplayFixture } from './replay-fixtures.js';

// A cancelled replay job ends `cancelled` at once; the runner running it stops after the batch
// under way, and no batch requeues anything once the cancel has committed. What was requeued
// stays pending.
describe.each(DIALECTS)('cancelling a replay job on %s', (backend) => {
  let f: ReplayFixture;
  const runner = (id: string) => f.runner(id, { pollMs: 10 });
  const jobs = () => new ReplayJobStore(f.t.store.db, f.clock.now);
  /** One batch of job `id` as `leaseOwner`, in a write transaction of its own. */
  const batchAs = (id: string, leaseOwner: string) =>
    inWriteTransaction(f.t.store, (trx) =>
      replayBatch(trx, { id, leaseOwner }, 3, f.clock.ms, LEASE_MS),
    );

  beforeEach(async () => {
    f = await replayFixture(backend);
  });
  afterEach(async () => {
    await f.t.destroy();
  });

  it('stops the runner running it after the batch under way; what it requeued stays pending', async () => {
    const job = await f.newJob();
    let cancelling: ReturnType<ReplayJobStore['cancel']> | undefined;
    const done = await runner('r1').runOnce({
      onProgress: () => {
        cancelling ??= jobs().cancel(f.integration, job.id, f.owner);
      },
    });
    expect(await cancelling).toMatchObject({ cancelled: true, job: { status: 'cancelled' } });
    expect(done).toMatchObject({ id: job.id, status: 'cancelled', total: 8 });
    // Asked after the first batch: on PostgreSQL the second may have taken the job's row first,
    // and the cancel then waited for its commit. Never a third.
    expect([3, 6]).toContain(done!.requeued);
    expect(await f.pendingCount()).toBe(done!.requeued);
    expect(await f.stored(job.id)).toMatchObject({
      status: 'cancelled',
      requeued: done!.requeued,
      lease_owner: null,
      lease_until: null,
      finished_at: f.clock.ms,
    });
    // Nobody takes it on again, not even after its lease would have ended.
    f.clock.advance(LEASE_MS);
    expect(await runner('r2').runOnce()).toBeUndefined();
    expect(await f.pendingCount()).toBe(done!.requeued);
  });

  it('runs no batch once the cancel has committed, even for the runner holding the lease', async () => {
    const job = await f.newJob();
    expect(await runner('r1').runOnce({ batches: 1 })).toMatchObject({ requeued: 3 });
    const cancelled = await jobs().cancel(f.integration, job.id, f.owner);
    expect(cancelled).toMatchObject({ cancelled: true, job: { status: 'cancelled', requeued: 3 } });
    expect(await batchAs(job.id, 'r1')).toBeUndefined();
    expect(await runner('r1').runOnce({ jobId: job.id })).toBeUndefined();
    expect(await f.pendingCount()).toBe(3);
  });

  it('waits for the batch under way to commit, then cancels: the next batch finds it cancelled', async () => {
    const job = await f.newJob();
    await runner('r1').runOnce({ batches: 1 });
    let commit!: () => void;
    const mayCommit = new Promise<void>((resolve) => (commit = resolve));
    let batchWritten!: () => void;
    const written = new Promise<void>((resolve) => (batchWritten = resolve));
    const batch = inWriteTransaction(f.t.store, async (trx) => {
      const result = await replayBatch(
        trx,
        { id: job.id, leaseOwner: 'r1' },
        3,
        f.clock.ms,
        LEASE_MS,
      );
      batchWritten();
      await mayCommit;
      return result;
    });
    await written;
    let settled = false;
    const cancelling = jobs()
      .cancel(f.integration, job.id, f.owner)
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
    expect(await f.pendingCount()).toBe(6);
  });

  it('cancels on the runner’s abort signal after the batch under way (the CLI’s Ctrl-C)', async () => {
    const job = await f.newJob();
    const stop = new AbortController();
    const done = await runner('r1').runOnce({
      signal: stop.signal,
      onProgress: () => stop.abort(),
    });
    expect(done).toMatchObject({ id: job.id, status: 'cancelled', total: 8, requeued: 3 });
    expect(await f.stored(job.id)).toMatchObject({ status: 'cancelled', requeued: 3 });
    expect(await f.pendingCount()).toBe(3);
  });

  it('cancels a job another runner holds when the watcher’s signal aborts; that runner stops', async () => {
    const job = await f.newJob();
    await runner('r1').runOnce({ batches: 1 });
    const stop = new AbortController();
    const seen: ReplayJobView[] = [];
    const done = await runner('r2').runToEnd(
      { id: job.id, integrationId: f.integration },
      (view) => {
        seen.push(view);
        stop.abort();
      },
      stop.signal,
    );
    expect(seen.map((view) => [view.status, view.requeued])).toEqual([['running', 3]]);
    expect(done).toMatchObject({ status: 'cancelled', requeued: 3 });
    expect(await batchAs(job.id, 'r1')).toBeUndefined();
    expect(await f.pendingCount()).toBe(3);
  });

  it('leaves a finished job as it ended, and says how; an unknown or foreign job is not found', async () => {
    const job = await f.newJob();
    expect(await runner('r1').runOnce()).toMatchObject({ status: 'succeeded', requeued: 8 });
    const again = await jobs().cancel(f.integration, job.id, f.owner);
    expect(again).toMatchObject({ cancelled: false, job: { status: 'succeeded', requeued: 8 } });
    expect(await jobs().cancel(f.integration, 'nope', f.owner)).toBeUndefined();
    expect(await jobs().cancel(f.integration, job.id, 'someone-else')).toBeUndefined();
  });
});
