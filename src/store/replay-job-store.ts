/**
 * Replay jobs (migrations 0006, 0007): a replay of an integration's failed deliveries since a
 * time, run by a worker a batch per transaction (`ReplayRunner` in src/queue/replay-runner.ts;
 * the worker's side is replay-batch-store.ts). Here: asking for one, reading them and cancelling
 * one. Each batch goes through `requeueFailed`, so it keeps that function's exclusions and
 * per-call ordering, and moves the job's count and resume position in the same transaction: a job
 * taken over after a crash goes on after the last batch that committed, and replays nothing twice.
 * A batch checks that the job is still running in that transaction too: once a cancel commits, no
 * batch follows.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Database, ReplayJobsTable } from './schema.js';
import { pageOf } from './account-store.js';
import { isoTime, type Page } from '../domain/accounts.js';
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
export function failedOf(db: Kysely<Database>, job: ReplayJobRow) {
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
 * Cancels a running job of an integration (`ownerId` undefined: whoever owns it): it ends
 * `cancelled` at once, and the worker running it stops after the batch under way (`replayBatch`,
 * replay-batch-store.ts, finds it no longer running). What was requeued stays requeued. Answers
 * the job with whether this call cancelled it (false: it had already finished, `status` says
 * how); undefined when there is no such job.
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
      // A batch failure it was waiting to try again is no longer what the job is about.
      error: null,
      batch_failures: 0,
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
