/**
 * The worker's side of replay jobs (`ReplayRunner` in src/queue/replay-runner.ts): find a free job
 * and lease it, run it a batch per write transaction, give it back at a stop, end it when a batch
 * fails, or give it back until later when the failure is transient. Each batch goes through
 * `requeueFailed` and moves the job's count and resume position in the same transaction, after
 * checking (and locking) the job's row: a job taken over after a crash goes on after the last
 * batch that committed, and no batch follows a committed cancel (replay-job-store.ts).
 */
import type { ExpressionBuilder, Kysely, WhereInterface } from 'kysely';
import type { Database } from './schema.js';
import { isoTime } from '../domain/accounts.js';
import { requeueFailed } from './delivery-actions.js';
import { failedOf, type ReplayJobRow } from './replay-job-store.js';

/**
 * Free for `leaseOwner`: no live lease holds the job, or its own does. A job whose batch failed
 * has no owner but a `lease_until`: it waits until then, for every worker.
 */
function freeFor(leaseOwner: string, now: number) {
  return (eb: ExpressionBuilder<Database, 'replay_jobs'>) =>
    eb.or([
      eb('lease_until', 'is', null),
      eb('lease_until', '<=', now),
      eb('lease_owner', '=', leaseOwner),
    ]);
}

/** The oldest running job free for `leaseOwner` (or job `id`, if so). */
export async function freeReplayJob(
  db: Kysely<Database>,
  leaseOwner: string,
  now: number,
  id?: string,
): Promise<{ id: string } | undefined> {
  let query = db
    .selectFrom('replay_jobs')
    .select('id')
    .where('status', '=', 'running')
    .where(freeFor(leaseOwner, now))
    .orderBy('created_at')
    .limit(1);
  if (id !== undefined) query = query.where('id', '=', id);
  return query.executeTakeFirst();
}

/**
 * Leases the oldest running job that no live lease holds but `leaseOwner`'s own (or job `id`
 * only), until `now + leaseMs`. Run in a write transaction: two workers never both take a job. Workers poll
 * with `freeReplayJob` first, outside one, so an idle poll never takes the write lock.
 */
export async function leaseReplayJob(
  trx: Kysely<Database>,
  leaseOwner: string,
  now: number,
  leaseMs: number,
  id?: string,
): Promise<ReplayJobRow | undefined> {
  const found = await freeReplayJob(trx, leaseOwner, now, id);
  if (found === undefined) return undefined;
  // Checked again by the update: on PostgreSQL another worker may have taken it meanwhile.
  return trx
    .updateTable('replay_jobs')
    .set({ lease_owner: leaseOwner, lease_until: now + leaseMs, updated_at: now })
    .where('id', '=', found.id)
    .where('status', '=', 'running')
    .where(freeFor(leaseOwner, now))
    .returningAll()
    .executeTakeFirst();
}

/**
 * One batch of a leased job, in the caller's write transaction: the next `size` failed
 * deliveries after the resume position go through `requeueFailed`, and the job's count, position
 * and lease move with them (a committed batch also clears the failures of earlier tries). The job
 * succeeds with a batch shorter than `size`. Answers the job as it is now, or undefined when
 * `leaseOwner` no longer holds it (taken over after its lease, cancelled, or finished): the caller
 * stops. The first statement checks that and locks the job's row, so a cancel either committed
 * before it (no batch) or waits for this batch's commit (PostgreSQL; SQLite writes one at a time).
 */
export async function replayBatch(
  trx: Kysely<Database>,
  job: { id: string; leaseOwner: string },
  size: number,
  now: number,
  leaseMs: number,
): Promise<{ job: ReplayJobRow; requeued: number } | undefined> {
  // Locks the job's row first (PostgreSQL): a worker taking it over waits for this batch.
  const held = await heldBy(
    trx.updateTable('replay_jobs').set({ lease_until: now + leaseMs, updated_at: now }),
    job,
  )
    .returningAll()
    .executeTakeFirst();
  if (held === undefined) return undefined;
  let query = failedOf(trx, held)
    .select(['id', 'created_at'])
    .orderBy('created_at')
    .orderBy('id')
    .limit(size);
  const afterAt = held.after_created_at;
  const afterId = held.after_id;
  if (afterAt !== null && afterId !== null) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '>', afterAt),
        eb.and([eb('created_at', '=', afterAt), eb('id', '>', afterId)]),
      ]),
    );
  }
  const batch = await query.execute();
  const moved = await requeueFailed(trx, { ids: batch.map((row) => row.id) }, held.owner_id, now);
  const last = batch.at(-1);
  const done = batch.length < size;
  const updated = await trx
    .updateTable('replay_jobs')
    .set((eb) => ({
      requeued: eb('requeued', '+', moved.length),
      after_created_at: last?.created_at ?? afterAt,
      after_id: last?.id ?? afterId,
      updated_at: now,
      batch_failures: 0,
      error: null,
      ...(done
        ? { status: 'succeeded' as const, finished_at: now, lease_owner: null, lease_until: null }
        : {}),
    }))
    .where('id', '=', held.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { job: updated, requeued: moved.length };
}

/** The job's row while it is running and `leaseOwner` holds it (`query`: over `replay_jobs`). */
function heldBy<Q extends WhereInterface<Database, 'replay_jobs'>>(
  query: Q,
  job: { id: string; leaseOwner: string },
): Q {
  return query
    .where('id', '=', job.id)
    .where('status', '=', 'running')
    .where('lease_owner', '=', job.leaseOwner) as Q;
}

/** Lets another worker take a job at once (this one stops); nothing when it no longer holds it. */
export async function releaseReplayJob(
  db: Kysely<Database>,
  job: { id: string; leaseOwner: string },
  now: number,
): Promise<void> {
  await db
    .updateTable('replay_jobs')
    .set({ lease_owner: null, lease_until: null, updated_at: now })
    .where('id', '=', job.id)
    .where('lease_owner', '=', job.leaseOwner)
    .execute();
}

/**
 * Ends a job that cannot go on (a batch threw an error not worth trying again), with why.
 * Answers it; undefined when `leaseOwner` no longer holds it.
 */
export async function failReplayJob(
  db: Kysely<Database>,
  job: { id: string; leaseOwner: string },
  error: string,
  now: number,
): Promise<ReplayJobRow | undefined> {
  return heldBy(
    db.updateTable('replay_jobs').set({
      status: 'failed',
      error,
      lease_owner: null,
      lease_until: null,
      updated_at: now,
      finished_at: now,
    }),
    job,
  )
    .returningAll()
    .executeTakeFirst();
}

/**
 * A batch of a job `leaseOwner` holds failed with a transient error (rolled back): counts it
 * and, below `maxFailures` in a row, gives the job back until `retryAt`, when any worker's next
 * poll takes it on where the last committed batch left it; at `maxFailures`, the job ends
 * `failed`. Its `error` says which try failed, and why. Run in a write transaction. Answers the
 * job as it is now; undefined when `leaseOwner` no longer holds it (cancelled, or taken over).
 */
export async function retryReplayJobLater(
  trx: Kysely<Database>,
  job: { id: string; leaseOwner: string },
  failure: { message: string; maxFailures: number; retryAt: number },
  now: number,
): Promise<ReplayJobRow | undefined> {
  const held = await heldBy(
    trx.selectFrom('replay_jobs').select('batch_failures'),
    job,
  ).executeTakeFirst();
  if (held === undefined) return undefined;
  const failures = held.batch_failures + 1;
  const givenUp = failures >= failure.maxFailures;
  return heldBy(
    trx.updateTable('replay_jobs').set({
      batch_failures: failures,
      error: givenUp
        ? `batch failed ${failures} times in a row, the job gave up: ${failure.message}`
        : `batch failed (try ${failures} of ${failure.maxFailures}; tried again from ` +
          `${isoTime(failure.retryAt)!}): ${failure.message}`,
      lease_owner: null,
      lease_until: givenUp ? null : failure.retryAt,
      updated_at: now,
      ...(givenUp ? { status: 'failed' as const, finished_at: now } : {}),
    }),
    job,
  )
    .returningAll()
    .executeTakeFirst();
}
