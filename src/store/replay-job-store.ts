/**
 * Replay jobs (migration 0006): a replay of an integration's failed deliveries since a time, run
 * by a worker a batch per transaction (`ReplayRunner` in src/queue/replay-runner.ts). Each batch
 * goes through `requeueFailed`, so it keeps that function's exclusions and per-call ordering, and
 * moves the job's count and resume position in the same transaction: a job taken over after a
 * crash goes on after the last batch that committed, and replays nothing twice. A batch checks
 * that the job is still running in that transaction too: once a cancel commits, no batch follows.
 */
import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import type { Database, ReplayJobsTable } from './schema.js';
import { pageOf } from './account-store.js';
import { isoTime, type Page } from '../domain/accounts.js';
import { requeueFailed } from './delivery-actions.js';
import { newId } from '../domain/ids.js';

export type ReplayJobStatus = ReplayJobsTable['status'];

/** A replay job as the API shows it. */
export interface ReplayJobView {
  id: string;
  integrationId: string;
  since: string;
  status: ReplayJobStatus;
  /** Failed deliveries the replay matched when it was asked for. */
  total: number;
  /** Moved back to pending so far (fewer than `total` when some could not be, see docs). */
  requeued: number;
  /** Why it failed; while running, why its last batch failed (it is tried again). */
  error: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export type ReplayJobRow = Selectable<ReplayJobsTable>;

export function toReplayJobView(row: ReplayJobRow): ReplayJobView {
  return {
    id: row.id,
    integrationId: row.integration_id,
    since: isoTime(row.since)!,
    status: row.status,
    total: row.total,
    requeued: row.requeued,
    error: row.error,
    createdAt: isoTime(row.created_at)!,
    updatedAt: isoTime(row.updated_at)!,
    finishedAt: isoTime(row.finished_at),
  };
}

/** The failed deliveries a job replays, before its resume position is applied. */
function failedOf(db: Kysely<Database>, job: ReplayJobRow) {
  return (
    db
      .selectFrom('deliveries')
      .where('owner_id', '=', job.owner_id)
      .where('integration_id', '=', job.integration_id)
      .where('status', '=', 'failed')
      // IVR invocations are never replayed (`requeueFailed`): not counted, not walked.
      .where('kind', '<>', 'ivr')
      .where('created_at', '>=', job.since)
      // What failed when the replay was asked for; a delivery created later is not its business.
      .where('created_at', '<=', job.created_at)
  );
}

/**
 * Stores a running job for a replay and counts what it will walk. The caller has checked that the
 * owner sees the integration.
 */
export async function createReplayJob(
  db: Kysely<Database>,
  input: { ownerId: string; integrationId: string; since: number },
  now: number,
): Promise<ReplayJobRow> {
  const job: ReplayJobRow = {
    id: newId(),
    owner_id: input.ownerId,
    integration_id: input.integrationId,
    since: input.since,
    status: 'running',
    total: 0,
    requeued: 0,
    after_created_at: null,
    after_id: null,
    lease_owner: null,
    lease_until: null,
    error: null,
    batch_failures: 0,
    created_at: now,
    updated_at: now,
    finished_at: null,
  };
  const counted = await failedOf(db, job)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  job.total = Number(counted.n);
  await db.insertInto('replay_jobs').values(job).execute();
  return job;
}

/** One job of an integration; `ownerId` undefined: whoever owns it. */
export async function findReplayJob(
  db: Kysely<Database>,
  integrationId: string,
  id: string,
  ownerId: string | undefined,
): Promise<ReplayJobRow | undefined> {
  let query = db
    .selectFrom('replay_jobs')
    .selectAll()
    .where('id', '=', id)
    .where('integration_id', '=', integrationId);
  if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
  return query.executeTakeFirst();
}

/** An integration's jobs, newest first. */
export async function listReplayJobs(
  db: Kysely<Database>,
  integrationId: string,
  ownerId: string | undefined,
  page: { cursor?: string | undefined; limit: number },
): Promise<Page<ReplayJobView>> {
  let query = db
    .selectFrom('replay_jobs')
    .selectAll()
    .where('integration_id', '=', integrationId)
    .orderBy('id', 'desc')
    .limit(page.limit + 1);
  if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
  if (page.cursor !== undefined) query = query.where('id', '<', page.cursor);
  return pageOf((await query.execute()).map(toReplayJobView), page.limit);
}

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
  const held = await trx
    .updateTable('replay_jobs')
    .set({ lease_until: now + leaseMs, updated_at: now })
    .where('id', '=', job.id)
    .where('status', '=', 'running')
    .where('lease_owner', '=', job.leaseOwner)
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
  return db
    .updateTable('replay_jobs')
    .set({
      status: 'failed',
      error,
      lease_owner: null,
      lease_until: null,
      updated_at: now,
      finished_at: now,
    })
    .where('id', '=', job.id)
    .where('status', '=', 'running')
    .where('lease_owner', '=', job.leaseOwner)
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
  const held = await trx
    .selectFrom('replay_jobs')
    .select('batch_failures')
    .where('id', '=', job.id)
    .where('status', '=', 'running')
    .where('lease_owner', '=', job.leaseOwner)
    .executeTakeFirst();
  if (held === undefined) return undefined;
  const failures = held.batch_failures + 1;
  const givenUp = failures >= failure.maxFailures;
  return trx
    .updateTable('replay_jobs')
    .set({
      batch_failures: failures,
      error: givenUp
        ? `batch failed ${failures} times in a row, the job gave up: ${failure.message}`
        : `batch failed (try ${failures} of ${failure.maxFailures}; tried again from ` +
          `${isoTime(failure.retryAt)!}): ${failure.message}`,
      lease_owner: null,
      lease_until: givenUp ? null : failure.retryAt,
      updated_at: now,
      ...(givenUp ? { status: 'failed' as const, finished_at: now } : {}),
    })
    .where('id', '=', job.id)
    .where('status', '=', 'running')
    .where('lease_owner', '=', job.leaseOwner)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Cancels a running job of an integration (`ownerId` undefined: whoever owns it): it ends
 * `cancelled` at once, and the worker running it stops after the batch under way (`replayBatch`
 * finds it no longer running). What was requeued stays requeued. Answers the job with whether
 * this call cancelled it (false: it had already finished, `status` says how); undefined when
 * there is no such job.
 */
export async function cancelReplayJob(
  db: Kysely<Database>,
  job: { integrationId: string; id: string; ownerId: string | undefined },
  now: number,
): Promise<{ cancelled: boolean; job: ReplayJobRow } | undefined> {
  let update = db
    .updateTable('replay_jobs')
    .set({
      status: 'cancelled',
      lease_owner: null,
      lease_until: null,
      updated_at: now,
      finished_at: now,
    })
    .where('id', '=', job.id)
    .where('integration_id', '=', job.integrationId)
    .where('status', '=', 'running');
  if (job.ownerId !== undefined) update = update.where('owner_id', '=', job.ownerId);
  const cancelled = await update.returningAll().executeTakeFirst();
  if (cancelled !== undefined) return { cancelled: true, job: cancelled };
  const found = await findReplayJob(db, job.integrationId, job.id, job.ownerId);
  return found === undefined ? undefined : { cancelled: false, job: found };
}

/**
 * The API's side of replay jobs: ask for one, read them, cancel one (workers run them,
 * `ReplayRunner`).
 */
export class ReplayJobStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Stores a running job; the caller has checked that the owner sees the integration. */
  async create(input: {
    ownerId: string;
    integrationId: string;
    since: number;
  }): Promise<ReplayJobView> {
    return toReplayJobView(await createReplayJob(this.db, input, this.clock()));
  }

  async find(
    integrationId: string,
    id: string,
    ownerId: string | undefined,
  ): Promise<ReplayJobView | undefined> {
    const row = await findReplayJob(this.db, integrationId, id, ownerId);
    return row === undefined ? undefined : toReplayJobView(row);
  }

  /** `cancelReplayJob` for the API: the job as it is now, and whether this call cancelled it. */
  async cancel(
    integrationId: string,
    id: string,
    ownerId: string | undefined,
  ): Promise<{ cancelled: boolean; job: ReplayJobView } | undefined> {
    const result = await cancelReplayJob(this.db, { integrationId, id, ownerId }, this.clock());
    return result === undefined
      ? undefined
      : { cancelled: result.cancelled, job: toReplayJobView(result.job) };
  }

  list(
    integrationId: string,
    ownerId: string | undefined,
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<ReplayJobView>> {
    return listReplayJobs(this.db, integrationId, ownerId, page);
  }
}
