/** Pruning of old history: attempt logs and stored event bodies past the retention age. */
import { sql, type Kysely, type WhereInterface } from 'kysely';
import type { Database } from './schema.js';
import { isPostgres } from './bulk-insert.js';

export interface PruneResult {
  attempts: number;
  events: number;
}

/**
 * Rows deleted per statement (and, for events on PostgreSQL, per transaction: each one's rows
 * stay locked until it commits). On SQLite every statement runs on the process's main thread
 * and holds the write lock: a short one each, with the event loop let go between them, keeps the
 * API and the workers going while a month of history is pruned.
 */
const PRUNE_BATCH = 1_000;

/**
 * Deletes attempts older than `before` and events received before it that no pending delivery
 * still needs, in batches of `PRUNE_BATCH`. Deliveries themselves stay (status, counts, last
 * error), so the log keeps its rows.
 */
export async function pruneHistory(db: Kysely<Database>, before: number): Promise<PruneResult> {
  let attempts = 0;
  for (;;) {
    const result = await db
      .deleteFrom('attempts')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('attempts')
          .select('id')
          .where('started_at', '<', before)
          .orderBy('started_at')
          .limit(PRUNE_BATCH),
      )
      .executeTakeFirst();
    const count = Number(result.numDeletedRows);
    attempts += count;
    if (count < PRUNE_BATCH) break;
    await letOthersRun();
  }
  const events = isPostgres(db)
    ? await pruneEventsLocked(db, before)
    : await pruneEventsSqlite(db, before);
  return { attempts, events };
}

/** Lets queued I/O (requests, timers, the workers) run between two statements. */
const letOthersRun = () => new Promise((resolve) => setImmediate(resolve));

/** Events received before `before` that no pending delivery needs (`query`: over `events`). */
function unneededEvents<Q extends WhereInterface<Database, 'events'>>(query: Q, before: number): Q {
  return query.where('received_at', '<', before).where(({ not, exists, selectFrom }) =>
    not(
      exists(
        selectFrom('deliveries')
          .select(sql<number>`1`.as('one'))
          .whereRef('deliveries.event_id', '=', 'events.id')
          .whereRef('deliveries.owner_id', '=', 'events.owner_id')
          .where('deliveries.status', '=', 'pending'),
      ),
    ),
  ) as Q;
}

/**
 * SQLite: the oldest events first, a batch per statement. No index leads from an event to its
 * deliveries, so "no pending delivery needs it" is asked as one list of the event ids pending
 * deliveries need, read once per statement through `deliveries_lane` (pending rows only): the
 * correlated `not exists` searched every delivery of the owner for each event, seconds for a few
 * thousand events. An event whose id a pending delivery of another owner needs is kept a while
 * longer, which is harmless. One statement at a time, and SQLite runs one writer: a retry
 * (`requeueFailed`) is either before it, and its event is kept, or after it, and finds it gone.
 */
async function pruneEventsSqlite(db: Kysely<Database>, before: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await sql`
      delete from events where rowid in (
        select rowid from events
        where received_at < ${before}
          and id not in (
            select event_id from deliveries
            where status = 'pending' and event_id is not null)
        order by received_at
        limit ${PRUNE_BATCH})`.execute(db);
    const count = Number(result.numAffectedRows ?? 0);
    deleted += count;
    if (count < PRUNE_BATCH) return deleted;
    await letOthersRun();
  }
}

/**
 * PostgreSQL: a retry (`requeueFailed`) holds its events key-share locked to its commit, so the
 * prune deletes only events it could lock, and checks them again in a later statement (a new
 * snapshot), which sees any retry that committed before the lock was taken. One statement would
 * judge with a snapshot from before the lock, and delete the event of a delivery pending again.
 */
async function pruneEventsLocked(db: Kysely<Database>, before: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { locked, count } = await db.transaction().execute(async (trx) => {
      const rows = await unneededEvents(trx.selectFrom('events'), before)
        .select(['owner_id', 'id'])
        .limit(PRUNE_BATCH)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return { locked: 0, count: 0 };
      const result = await sql`
        delete from events
        using unnest(${rows.map((row) => row.owner_id)}::text[],
          ${rows.map((row) => row.id)}::text[]) as locked(owner_id, id)
        where events.owner_id = locked.owner_id and events.id = locked.id
          and not exists (
            select 1 from deliveries
            where deliveries.event_id = events.id and deliveries.owner_id = events.owner_id
              and deliveries.status = 'pending')`.execute(trx);
      return { locked: rows.length, count: Number(result.numAffectedRows ?? 0) };
    });
    deleted += count;
    if (locked < PRUNE_BATCH) return deleted;
  }
}
