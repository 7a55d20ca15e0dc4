/** Shared set-up of the replay-runner tests: an integration whose deliveries all failed. */
import type { Backend } from '../../src/store/db.js';
import { ReplayRunner, type ReplayRunnerOptions } from '../../src/queue/replay-runner.js';
import { createReplayJob, findReplayJob } from '../../src/store/replay-job-store.js';
import { clockedQueue, delivery, enqueue, seedIntegration } from './queue-fixtures.js';

/** The runners' lease on a job. */
export const LEASE_MS = 30_000;

export type ReplayFixture = Awaited<ReturnType<typeof replayFixture>>;

/**
 * A store on a hand-moved clock, an owner and an integration with failed deliveries (one attempt
 * each), enqueued in groups of `groups[i]` a second apart; the clock is then a second on. `ids`
 * are theirs, sorted: the order a job walks deliveries created at one time in.
 */
export async function replayFixture(backend: Backend, groups: readonly number[] = [8]) {
  const { t, clock, queue, owner } = await clockedQueue(backend);
  let integration: string;
  const ids: string[] = [];
  try {
    integration = await seedIntegration(t.store, owner);
    for (const [index, size] of groups.entries()) {
      if (index > 0) clock.advance(1_000);
      const items = Array.from({ length: size }, () => delivery(owner, integration));
      await enqueue(t.store, queue, items);
      ids.push(...items.map((item) => item.id));
    }
    ids.sort();
    await t.store.db.updateTable('deliveries').set({ status: 'failed', attempts: 1 }).execute();
    clock.advance(1_000);
  } catch (error) {
    await t.destroy();
    throw error;
  }
  return {
    t,
    clock,
    owner,
    integration,
    ids,
    /** A runner `id` of three deliveries a batch, on the clock. */
    runner: (id: string, options: ReplayRunnerOptions = {}) =>
      new ReplayRunner(t.store, {
        id,
        batchSize: 3,
        leaseMs: LEASE_MS,
        clock: clock.now,
        ...options,
      }),
    /** A replay job of all the integration's failed deliveries, created now. */
    newJob: () =>
      createReplayJob(
        t.store.db,
        { ownerId: owner, integrationId: integration, since: 0 },
        clock.ms,
      ),
    /** Job `id` as stored. */
    stored: async (id: string) => (await findReplayJob(t.store.db, integration, id, undefined))!,
    /** Each delivery's status, in the order of `ids`. */
    statuses: async () => {
      const rows = await t.store.db
        .selectFrom('deliveries')
        .select(['id', 'status'])
        .where('id', 'in', ids)
        .execute();
      return ids.map((id) => rows.find((row) => row.id === id)!.status);
    },
    /** How many of the deliveries are pending. */
    pendingCount: async () =>
      (
        await t.store.db
          .selectFrom('deliveries')
          .select('id')
          .where('id', 'in', ids)
          .where('status', '=', 'pending')
          .execute()
      ).length,
  };
}
