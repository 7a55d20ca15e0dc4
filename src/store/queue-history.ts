/**
 * The queue's depth over time (migration 0011), for the console's dashboard (docs/delivery.md,
 * "Activity"). Once a minute one process of the deployment reads the queue figures `/metrics`
 * shows (`queueSnapshot`) and stores them as that minute's row: every process looks every 15 s,
 * and the first to find the minute without a row writes it. So the chart has the last hour as
 * soon as the page opens, whichever process serves it.
 */
import type { Kysely } from 'kysely';
import { FailureStreak, type Logger } from '../logger.js';
import type { Database } from './schema.js';
import { queueSnapshot } from './queue-snapshot.js';
import { minuteOf } from './activity-store.js';

/** How often a process looks whether this minute has its sample yet. */
const LOOK_EVERY_MS = 15_000;

export interface QueueSamplerOptions {
  logger?: Logger;
  clock?: () => number;
}

/**
 * ### Examples
 * ```ts
 * const sampler = new QueueSampler(db, { logger });
 * sampler.start(); // a sample now, then a look every 15 s
 * await sampler.stop();
 * ```
 */
export class QueueSampler {
  private readonly db: Kysely<Database>;
  private readonly logger: Logger | undefined;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | undefined;
  private looking: Promise<void> | undefined;
  /** A failing store is logged once, not every 15 s. */
  private readonly failures: FailureStreak;

  constructor(db: Kysely<Database>, options: QueueSamplerOptions = {}) {
    this.db = db;
    this.logger = options.logger;
    this.clock = options.clock ?? Date.now;
    this.failures = new FailureStreak(
      this.logger,
      'sampling the queue for the dashboard',
      {},
      'warn',
    );
  }

  /** Looks now and every 15 s until `stop()`. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.look(), LOOK_EVERY_MS);
    this.timer.unref();
    void this.look();
  }

  /** Stops looking; waits for a look under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.looking;
  }

  /**
   * Stores this minute's figures unless a process did already. True when this call wrote the
   * row; rejects when the store does.
   */
  async sample(): Promise<boolean> {
    const now = this.clock();
    const minute = minuteOf(now);
    const taken = await this.db
      .selectFrom('queue_samples')
      .select('minute')
      .where('minute', '=', minute)
      .executeTakeFirst();
    if (taken !== undefined) return false;
    const figures = await queueSnapshot(this.db, now);
    // Two processes that both found the minute free: the first insert stands.
    const result = await this.db
      .insertInto('queue_samples')
      .values({
        minute,
        pending: figures.pending,
        oldest_pending_age_seconds: figures.oldestPendingAgeSeconds,
        open_circuits: figures.openCircuits,
        sampled_at: now,
      })
      .onConflict((oc) => oc.column('minute').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** `sample()` for the timer: one at a time, a failure logged (once until one succeeds). */
  private look(): Promise<void> {
    this.looking ??= this.sample()
      .then(
        () => this.failures.succeeded(),
        (error: unknown) => this.failures.failed(error),
      )
      .finally(() => (this.looking = undefined));
    return this.looking;
  }
}

export interface QueueMinute {
  /** The minute's start, milliseconds since the epoch. */
  minute: number;
  pending: number;
  oldestPendingAgeSeconds: number;
  openCircuits: number;
}

/** The samples from `since` on, oldest first. */
export async function readQueueHistory(
  db: Kysely<Database>,
  since: number,
): Promise<QueueMinute[]> {
  const rows = await db
    .selectFrom('queue_samples')
    .select(['minute', 'pending', 'oldest_pending_age_seconds', 'open_circuits'])
    .where('minute', '>=', since)
    .orderBy('minute')
    .execute();
  return rows.map((r) => ({
    minute: Number(r.minute),
    pending: Number(r.pending),
    oldestPendingAgeSeconds: Number(r.oldest_pending_age_seconds),
    openCircuits: Number(r.open_circuits),
  }));
}
