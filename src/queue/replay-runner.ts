/**
 * Runs replay jobs (`POST /api/v1/integrations/:id/replay`) in a worker process: takes a running
 * job under a lease, requeues its failed deliveries a batch per write transaction (the job's
 * progress moves in the same transaction) and lets the event loop go between two batches, so a
 * replay of 50,000 deliveries never holds the database, or this process, for long. A job whose
 * worker died is taken over by another when its lease ends, after its last committed batch; one
 * whose batch failed with a transient error is tried again the same way, a bounded number of
 * times. A cancelled job's worker stops after the batch under way.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isoTime } from '../domain/accounts.js';
import { FailureStreak, type Logger } from '../logger.js';
import type { Store } from '../store/db.js';
import { inWriteTransaction } from '../store/write-transaction.js';
import { PollLoop } from './poll-loop.js';
import {
  cancelReplayJob,
  findReplayJob,
  toReplayJobView,
  type ReplayJobView,
} from '../store/replay-job-store.js';
import {
  failReplayJob,
  freeReplayJob,
  leaseReplayJob,
  releaseReplayJob,
  replayBatch,
  retryReplayJobLater,
} from '../store/replay-batch-store.js';

export interface ReplayRunnerOptions {
  /** The lease owner written on the jobs it runs (default `replay-<uuid>`). */
  id?: string;
  /** Deliveries per transaction (default 500). */
  batchSize?: number;
  /**
   * How long a job stays this runner's without a batch; renewed by each (default 30 s). A batch
   * that failed with a transient error is tried again after as long.
   */
  leaseMs?: number;
  /**
   * Batches in a row that may fail with a transient error (`Store.isTransient`: SQLite busy, a
   * PostgreSQL serialization failure or lost connection) before the job ends `failed` (default 5).
   */
  maxBatchFailures?: number;
  /** Sleep when no job waits (default 1 s); `notify()` wakes earlier. */
  pollMs?: number;
  /** Milliseconds since the epoch; tests inject a fake clock. */
  clock?: () => number;
  logger?: Logger;
  /** A batch moved deliveries back to pending: the delivery worker may claim now. */
  onRequeued?: () => void;
}

/**
 * ### Examples
 * ```ts
 * const runner = new ReplayRunner(store, { logger, onRequeued: () => worker.notify() });
 * runner.start();
 * // …
 * await runner.stop();
 * ```
 */
export class ReplayRunner {
  readonly id: string;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly maxBatchFailures: number;
  private readonly pollMs: number;
  private readonly clock: () => number;
  private stopping = false;
  private readonly loop: PollLoop;

  constructor(
    private readonly store: Pick<Store, 'db' | 'beginExclusive' | 'lazyCommit' | 'isTransient'>,
    private readonly options: ReplayRunnerOptions = {},
  ) {
    this.id = options.id ?? `replay-${randomUUID()}`;
    this.batchSize = options.batchSize ?? 500;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.maxBatchFailures = options.maxBatchFailures ?? 5;
    this.pollMs = options.pollMs ?? 1_000;
    this.clock = options.clock ?? Date.now;
    this.loop = new PollLoop(
      async () => (await this.runOnce()) !== undefined,
      this.pollMs,
      new FailureStreak(options.logger, 'taking a replay job', { runner: this.id }),
    );
  }

  /** Runs jobs in the background until `stop()`. */
  start(): void {
    this.loop.start();
  }

  /** A job was asked for: look now rather than at the next poll. */
  notify(): void {
    this.loop.notify();
  }

  /**
   * Ends the job under way after its current batch, giving it back (another worker takes it on at
   * once, where it stopped), and runs no more.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop.stop();
  }

  /**
   * Takes one job (the oldest free one, or `jobId` only) and runs it to its end, or for `batches`
   * batches: then it keeps the lease, as a crashed worker would. With `signal` aborted, it cancels
   * the job before its next batch (the CLI's Ctrl-C). Answers the job as its last batch, a cancel
   * or a failed batch left it; undefined when there was none to take. For the loop, the CLI and
   * tests.
   */
  async runOnce(
    options: {
      jobId?: string;
      batches?: number;
      signal?: AbortSignal | undefined;
      onProgress?: (job: ReplayJobView) => void;
    } = {},
  ): Promise<ReplayJobView | undefined> {
    if ((await freeReplayJob(this.store.db, this.id, this.clock(), options.jobId)) === undefined)
      return undefined;
    const leased = await inWriteTransaction(this.store, (trx) =>
      leaseReplayJob(trx, this.id, this.clock(), this.leaseMs, options.jobId),
    );
    if (leased === undefined) return undefined;
    const held = { id: leased.id, leaseOwner: this.id };
    const log = this.options.logger?.child({ replayJob: leased.id });
    log?.info(
      { integrationId: leased.integration_id, total: leased.total, requeued: leased.requeued },
      'replay job taken',
    );
    let job = toReplayJobView(leased);
    for (let batches = 0; batches !== options.batches; batches++) {
      // Let requests and deliveries in between two batches.
      if (batches > 0) await new Promise((resolve) => setImmediate(resolve));
      if (options.signal?.aborted) return this.cancel(job);
      if (batches > 0 && this.stopping) {
        await releaseReplayJob(this.store.db, held, this.clock());
        log?.info({ requeued: job.requeued }, 'replay job given back at stop');
        return job;
      }
      let result: Awaited<ReturnType<typeof replayBatch>>;
      try {
        result = await inWriteTransaction(this.store, (trx) =>
          replayBatch(trx, held, this.batchSize, this.clock(), this.leaseMs),
        );
      } catch (error) {
        return this.batchFailed(held, job, error, log);
      }
      if (result === undefined) return this.noLongerHeld(job, log);
      job = toReplayJobView(result.job);
      if (result.requeued > 0) this.options.onRequeued?.();
      options.onProgress?.(job);
      if (job.status !== 'running') {
        log?.info({ total: job.total, requeued: job.requeued }, 'replay job done');
        return job;
      }
    }
    return job;
  }

  /**
   * Runs job `jobId` here to its end, or, while another worker holds it, waits for that one,
   * reading its progress every `pollMs`. `onProgress` hears each change (a batch, or a failed one
   * that waits to be tried again). `signal` aborted cancels the job, whoever runs it: here after
   * the batch under way, in another worker after its own. For `callhook deliveries replay`.
   */
  async runToEnd(
    job: { id: string; integrationId: string },
    onProgress: (job: ReplayJobView) => void,
    signal?: AbortSignal,
  ): Promise<ReplayJobView> {
    let seen = '';
    const tell = (view: ReplayJobView) => {
      const state = `${view.status} ${view.requeued} ${view.error ?? ''}`;
      if (state === seen) return;
      seen = state;
      onProgress(view);
    };
    for (;;) {
      if (signal?.aborted) return this.cancel(job);
      const ran = await this.runOnce({ jobId: job.id, onProgress: tell, signal });
      if (ran !== undefined && ran.status !== 'running') return ran;
      const row = await findReplayJob(this.store.db, job.integrationId, job.id, undefined);
      if (row === undefined) throw new Error(`replay job ${job.id} is gone`);
      const view = toReplayJobView(row);
      if (view.status !== 'running') return view;
      tell(view);
      // An abort ends the wait at once: the loop's first step cancels.
      await sleep(this.pollMs, undefined, signal === undefined ? {} : { signal }).catch(
        () => undefined,
      );
    }
  }

  /**
   * Cancels `job` wherever it runs (the worker running it stops after its batch under way).
   * Answers it as the cancel left it, or as it had ended before.
   */
  async cancel(job: { id: string; integrationId: string }): Promise<ReplayJobView> {
    const result = await cancelReplayJob(
      this.store.db,
      { integrationId: job.integrationId, id: job.id, ownerId: undefined },
      this.clock(),
    );
    if (result === undefined) throw new Error(`replay job ${job.id} is gone`);
    this.options.logger?.info(
      { replayJob: job.id, status: result.job.status, requeued: result.job.requeued },
      result.cancelled ? 'replay job cancelled' : 'replay job had ended before its cancel',
    );
    return toReplayJobView(result.job);
  }

  /**
   * A batch threw. A transient error (the database busy, a connection lost) gives the job back
   * until its lease would end, for any worker to try again, at most `maxBatchFailures` times in a
   * row; any other error ends it `failed` at once. Either way its `error` says why.
   */
  private async batchFailed(
    held: { id: string; leaseOwner: string },
    job: ReplayJobView,
    error: unknown,
    log: Logger | undefined,
  ): Promise<ReplayJobView> {
    // Logged first: should storing the failure fail too, this error is not lost.
    log?.warn({ err: error }, 'replay batch failed');
    const message = describeError(error);
    const now = this.clock();
    if (!this.store.isTransient(error)) {
      const failed = await failReplayJob(this.store.db, held, message, now);
      if (failed === undefined) return this.noLongerHeld(job, log);
      log?.error({ requeued: failed.requeued }, 'replay job failed');
      return toReplayJobView(failed);
    }
    const retryAt = now + this.leaseMs;
    const row = await inWriteTransaction(this.store, (trx) =>
      retryReplayJobLater(trx, held, { message, maxFailures: this.maxBatchFailures, retryAt }, now),
    );
    if (row === undefined) return this.noLongerHeld(job, log);
    if (row.status === 'failed')
      log?.error(
        { batchFailures: row.batch_failures },
        'replay job failed: its batch kept failing',
      );
    else
      log?.info(
        { batchFailures: row.batch_failures, retryAt: isoTime(retryAt) },
        'replay job given back, tried again after the lease',
      );
    return toReplayJobView(row);
  }

  /** The job is not this runner's any more: cancelled, or taken over after its lease. */
  private async noLongerHeld(job: ReplayJobView, log: Logger | undefined): Promise<ReplayJobView> {
    const row = await findReplayJob(this.store.db, job.integrationId, job.id, undefined);
    const current = row === undefined ? job : toReplayJobView(row);
    if (current.status === 'cancelled')
      log?.info(
        { requeued: current.requeued },
        'replay job cancelled: stopped after its last batch',
      );
    else log?.warn({ status: current.status }, 'replay job lost its lease to another worker');
    return current;
  }
}

/** An error's message, with its code when the message does not say it (`SQLITE_BUSY`, `57P01`). */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code)
    ? `${error.message} (${code})`
    : error.message;
}
