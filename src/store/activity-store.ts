/**
 * Delivery and ingest activity per minute (migration 0010), for the console's dashboard
 * (docs/delivery.md, "Activity"). Every process counts what it did in memory
 * (`ActivityRecorder`) and adds the counts to its own rows every 10 s, so the dashboard of an
 * API-only process shows the worker processes' deliveries too, and its history outlives the page.
 * Old rows are deleted with the rest of the history (`pruneActivity` in retention-store.ts).
 */
import { sql, type Kysely } from 'kysely';
import type { Logger } from '../logger.js';
import type { Database } from './schema.js';
import { bulkInsert, type ColumnType } from './bulk-insert.js';

export const MINUTE_MS = 60_000;

/** The start of the minute `ms` falls in (milliseconds since the epoch). */
export function minuteOf(ms: number): number {
  return ms - (ms % MINUTE_MS);
}
/** How often the counts are written. */
const ACTIVITY_FLUSH_MS = 10_000;
/**
 * While the writes fail (the database away), the counts of at most this many minutes are kept,
 * the newest: beyond it the oldest are dropped, so an outage of hours does not grow the process
 * by a map per minute and owner. An hour is what the dashboard shows by default.
 */
export const MAX_UNWRITTEN_MINUTES = 60;
/** Rows per statement: 7 parameters a row on SQLite, which takes 32,766. */
const CHUNK = 1_000;

const COLUMNS: readonly (readonly [string, ColumnType])[] = [
  ['minute', 'bigint'],
  ['owner_id', 'text'],
  ['process_id', 'text'],
  ['succeeded', 'integer'],
  ['failed', 'integer'],
  ['retried', 'integer'],
  ['events', 'integer'],
];

/** A delivery's completion as the retry policy decided it. */
export type DeliveryDecisionKind = 'succeeded' | 'retry' | 'failed';

interface Counts {
  succeeded: number;
  failed: number;
  retried: number;
  events: number;
}

/** Counts by minute, then by owner. */
type Tally = Map<number, Map<string, Counts>>;

export interface ActivityRecorderOptions {
  /** This process's id in the rows (a UUID per process). */
  processId: string;
  logger?: Logger;
  clock?: () => number;
}

/**
 * ### Examples
 * ```ts
 * const activity = new ActivityRecorder(db, { processId: randomUUID(), logger });
 * activity.start();
 * activity.noteDelivery(ownerId, 'succeeded'); // a Map update, no I/O
 * await activity.stop(); // the last counts written
 * ```
 */
export class ActivityRecorder {
  readonly processId: string;
  private readonly db: Kysely<Database>;
  private readonly logger: Logger | undefined;
  private readonly clock: () => number;
  private tally: Tally = new Map();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<boolean> | undefined;
  /** Minutes were dropped since the last write that succeeded (warned about once). */
  private dropping = false;

  constructor(db: Kysely<Database>, options: ActivityRecorderOptions) {
    this.db = db;
    this.processId = options.processId;
    this.logger = options.logger;
    this.clock = options.clock ?? Date.now;
  }

  /** A delivery's attempt was recorded with this decision (its next state holds). */
  noteDelivery(ownerId: string, decision: DeliveryDecisionKind): void {
    const counts = this.countsOf(ownerId);
    if (decision === 'succeeded') counts.succeeded += 1;
    else if (decision === 'failed') counts.failed += 1;
    else counts.retried += 1;
  }

  /** `count` events of `ownerId`'s were accepted at ingest. */
  noteEvents(ownerId: string, count: number): void {
    if (count > 0) this.countsOf(ownerId).events += count;
  }

  /** Writes the counts every 10 s until `stop()`. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.flush(), ACTIVITY_FLUSH_MS);
    this.timer.unref();
  }

  /** Stops the timer and writes what is left. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /**
   * Adds the counts so far to this process's rows (one upsert). False when the write failed: the
   * counts are kept for the next flush and a warning logged; it never throws. Flushes run one at a
   * time.
   */
  flush(): Promise<boolean> {
    const previous = this.flushing ?? Promise.resolve(true);
    const next = previous.then(() => this.write());
    this.flushing = next;
    void next.finally(() => {
      if (this.flushing === next) this.flushing = undefined;
    });
    return next;
  }

  private countsOf(ownerId: string): Counts {
    const minute = minuteOf(this.clock());
    let owners = this.tally.get(minute);
    if (owners === undefined) {
      owners = new Map();
      this.tally.set(minute, owners);
    }
    let counts = owners.get(ownerId);
    if (counts === undefined) {
      counts = { succeeded: 0, failed: 0, retried: 0, events: 0 };
      owners.set(ownerId, counts);
    }
    return counts;
  }

  private async write(): Promise<boolean> {
    const taken = this.tally;
    this.tally = new Map();
    const rows: Record<string, string | number>[] = [];
    for (const [minute, owners] of taken)
      for (const [ownerId, c] of owners)
        rows.push({
          minute,
          owner_id: ownerId,
          process_id: this.processId,
          succeeded: c.succeeded,
          failed: c.failed,
          retried: c.retried,
          events: c.events,
        });
    if (rows.length === 0) return true;
    try {
      await this.db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += CHUNK)
          await bulkInsert(
            trx,
            'activity',
            COLUMNS,
            rows.slice(i, i + CHUNK),
            sql`on conflict (minute, owner_id, process_id) do update set
            succeeded = activity.succeeded + excluded.succeeded,
            failed = activity.failed + excluded.failed,
            retried = activity.retried + excluded.retried,
            events = activity.events + excluded.events`,
          );
      });
      this.dropping = false;
      return true;
    } catch (error) {
      this.putBack(taken);
      this.logger?.warn(
        { err: error, rows: rows.length },
        'writing delivery activity failed; its counts are kept for the next try',
      );
      this.dropOldest();
      return false;
    }
  }

  /** Keeps the newest `MAX_UNWRITTEN_MINUTES` of unwritten counts; warns once per outage. */
  private dropOldest(): void {
    const excess = this.tally.size - MAX_UNWRITTEN_MINUTES;
    if (excess <= 0) return;
    const oldest = [...this.tally.keys()].sort((a, b) => a - b).slice(0, excess);
    for (const minute of oldest) this.tally.delete(minute);
    if (!this.dropping)
      this.logger?.warn(
        { keptMinutes: MAX_UNWRITTEN_MINUTES, from: new Date(oldest[0]!).toISOString() },
        'delivery activity could not be written for too long; its oldest minutes are dropped until a write succeeds',
      );
    this.dropping = true;
  }

  /** Adds counts a failed flush took back to those noted since. */
  private putBack(taken: Tally): void {
    for (const [minute, owners] of taken) {
      const into = this.tally.get(minute);
      if (into === undefined) {
        this.tally.set(minute, owners);
        continue;
      }
      for (const [ownerId, c] of owners) {
        const counts = into.get(ownerId);
        if (counts === undefined) into.set(ownerId, c);
        else {
          counts.succeeded += c.succeeded;
          counts.failed += c.failed;
          counts.retried += c.retried;
          counts.events += c.events;
        }
      }
    }
  }
}

export interface ActivityMinute {
  /** The minute's start, milliseconds since the epoch. */
  minute: number;
  succeeded: number;
  failed: number;
  retried: number;
  events: number;
}

/**
 * The minutes from `since` on that have rows, oldest first, summed over processes (and over
 * owners unless `ownerId` is given).
 */
export async function readActivity(
  db: Kysely<Database>,
  since: number,
  ownerId: string | undefined,
): Promise<ActivityMinute[]> {
  let query = db
    .selectFrom('activity')
    .select((eb) => [
      'minute',
      eb.fn.sum<number>('succeeded').as('succeeded'),
      eb.fn.sum<number>('failed').as('failed'),
      eb.fn.sum<number>('retried').as('retried'),
      eb.fn.sum<number>('events').as('events'),
    ])
    .where('minute', '>=', since);
  if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
  const rows = await query.groupBy('minute').orderBy('minute').execute();
  // PostgreSQL's sum of integers is a bigint, read as a number (postgres-backend.ts); Number()
  // keeps it one whatever the driver gives.
  return rows.map((r) => ({
    minute: Number(r.minute),
    succeeded: Number(r.succeeded),
    failed: Number(r.failed),
    retried: Number(r.retried),
    events: Number(r.events),
  }));
}
