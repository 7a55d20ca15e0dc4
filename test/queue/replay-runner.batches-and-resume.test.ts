import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { leaseReplayJob, replayBatch } from '../../src/store/replay-batch-store.js';
import { inWriteTransaction } from '../../src/store/write-transaction.js';
import type { ReplayJobView } from '../../src/store/replay-job-store.js';
import { LEASE_MS, replayFixture, type ReplayFixture } from './replay-fixtures.js';

// A replay runs as a job, a few deliveries per transaction, its progress stored with each batch;
// a job whose runner stopped (crashed) mid-way is resumed by another after the lease, not redone.
describe.each(DIALECTS)('replay jobs in batches on %s', (backend) => {
  let f: ReplayFixture;
  beforeEach(async () => {
    // Eight failed deliveries: five created at one time (the resume position then rests on the
    // id), three a second later.
    f = await replayFixture(backend, [5, 3]);
  });
  afterEach(async () => {
    await f.t.destroy();
  });

  it('counts the failed deliveries at the start and requeues them a batch at a time', async () => {
    const job = await f.newJob();
    expect(job).toMatchObject({ status: 'running', total: 8, requeued: 0 });
    const progress: ReplayJobView[] = [];
    const done = await f.runner('r1').runOnce({ onProgress: (view) => progress.push(view) });
    expect(progress.map((view) => [view.status, view.requeued])).toEqual([
      ['running', 3],
      ['running', 6],
      ['succeeded', 8],
    ]);
    expect(done).toMatchObject({ id: job.id, status: 'succeeded', total: 8, requeued: 8 });
    expect(done!.finishedAt).not.toBeNull();
    expect(await f.statuses()).toEqual(Array(8).fill('pending'));
  });

  it('resumes a job its runner left after one batch, once the lease ends, without requeueing twice', async () => {
    const job = await f.newJob();
    const first = await f.runner('r1').runOnce({ batches: 1 });
    expect(first).toMatchObject({ status: 'running', requeued: 3 });
    // The first three were sent and failed again meanwhile: the job is past them.
    const done3 = (await f.statuses()).flatMap((status, i) =>
      status === 'pending' ? [f.ids[i]!] : [],
    );
    expect(done3).toHaveLength(3);
    await f.t.store.db
      .updateTable('deliveries')
      .set({ status: 'failed' })
      .where('id', 'in', done3)
      .execute();

    const other = f.runner('r2');
    expect(await other.runOnce()).toBeUndefined();
    f.clock.advance(LEASE_MS);
    const done = await other.runOnce();
    expect(done).toMatchObject({ id: job.id, status: 'succeeded', total: 8, requeued: 8 });
    expect(await f.statuses()).toEqual(
      f.ids.map((id) => (done3.includes(id) ? 'failed' : 'pending')),
    );
    // The first runner, back, finds the job no longer its own.
    expect(await f.runner('r1').runOnce({ jobId: job.id })).toBeUndefined();
  });

  it('runs no batch for a runner whose lease ran out and another took', async () => {
    const job = await f.newJob();
    await f.runner('r1').runOnce({ batches: 1 });
    f.clock.advance(LEASE_MS);
    expect(await f.runner('r2').runOnce({ batches: 1 })).toMatchObject({ requeued: 6 });
    const late = await inWriteTransaction(f.t.store, (trx) =>
      replayBatch(trx, { id: job.id, leaseOwner: 'r1' }, 3, f.clock.ms, LEASE_MS),
    );
    expect(late).toBeUndefined();
    // r2's own lease does not keep r2 out: it goes on at once.
    expect(await f.runner('r2').runOnce({ jobId: job.id })).toMatchObject({
      status: 'succeeded',
      requeued: 8,
    });
  });

  it('lets one of two runners starting together take the job; the other finds none', async () => {
    const job = await f.newJob();
    const results = await Promise.all([
      f.runner('r1').runOnce({ batches: 1 }),
      f.runner('r2').runOnce({ batches: 1 }),
    ]);
    expect(results.filter((result) => result !== undefined)).toEqual([
      expect.objectContaining({ id: job.id, requeued: 3 }),
    ]);
  });

  it.runIf(backend === 'postgres')(
    'gives a job two workers race for to the first to lease it: the other, waiting on its row, finds it taken',
    async () => {
      await f.newJob();
      let commitA!: () => void;
      const aMayCommit = new Promise<void>((resolve) => (commitA = resolve));
      let aLeased!: () => void;
      const leasedByA = new Promise<void>((resolve) => (aLeased = resolve));
      const a = f.t.store.db.transaction().execute(async (trx) => {
        const row = await leaseReplayJob(trx, 'a', f.clock.ms, LEASE_MS);
        aLeased();
        await aMayCommit;
        return row;
      });
      await leasedByA;
      // B reads the job as free (A has not committed) and its update waits for A's row lock.
      const b = f.t.store.db
        .transaction()
        .execute((trx) => leaseReplayJob(trx, 'b', f.clock.ms, LEASE_MS));
      await new Promise((resolve) => setTimeout(resolve, 200));
      commitA();
      expect(await a).toMatchObject({ lease_owner: 'a' });
      expect(await b).toBeUndefined();
    },
  );

  it('gives the job back at stop, after the batch under way, for another runner to go on at once', async () => {
    const job = await f.newJob();
    const first = f.runner('r1');
    const seen: number[] = [];
    let stopping: Promise<void> | undefined;
    const progress = first.runOnce({
      onProgress: (view) => {
        seen.push(view.requeued);
        stopping ??= first.stop();
      },
    });
    expect(await progress).toMatchObject({ status: 'running', requeued: 3 });
    await stopping;
    expect(seen).toEqual([3]);
    expect(await f.runner('r2').runOnce()).toMatchObject({
      id: job.id,
      status: 'succeeded',
      requeued: 8,
    });
  });
});
