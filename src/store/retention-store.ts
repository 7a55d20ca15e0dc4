/**
 * Pruning of old history, past its retention age: attempt logs and stored event bodies
 * (`pruneHistory`), and the dashboard's activity counts and queue samples (`pruneActivity`). Worker processes run
 * both when they start and hourly (src/main.ts).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import { isPostgres } from './bulk-insert.js';
import { explainPlan } from './explain.js';

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

/**
 * Deletes the dashboard's rows of minutes before `before`: the activity counts
 * (src/store/activity-store.ts) and the queue samples (src/store/queue-history.ts), one statement
 * each: pruned hourly, an hour of rows per owner and process, and sixty samples. Answers how many.
 */
export async function pruneActivity(db: Kysely<Database>, before: number): Promise<number> {
  let deleted = 0;
  for (const table of ['activity', 'queue_samples'] as const) {
    const result = await db.deleteFrom(table).where('minute', '<', before).executeTakeFirst();
    deleted += Number(result.numDeletedRows);
  }
  return deleted;
}

/**
 * A delivery is stored in its event's transaction (src/store/event-store.ts), so its `created_at`
 * is its event's `received_at` plus that transaction's time. The pending deliveries an old event
 * may have are looked for among those created before `before` plus this margin, which no
 * transaction comes near: an index range (`deliveries_integration`, per integration) instead of
 * every pending delivery, a million under a long outage.
 */
const CREATED_WITH_EVENT_MS = 60 * 60 * 1000;

/** Lets queued I/O (requests, timers, the workers) run between two statements. */
const letOthersRun = () => new Promise((resolve) => setImmediate(resolve));

/**
 * PostgreSQL: the owner and event ids pending deliveries created before `before` (plus the
 * margin) need, read per integration as an index range of `deliveries_integration`. `offset 0`
 * keeps the planner from folding the per-integration search into one scan of every delivery,
 * which it prefers on a small table and which grows with the backlog.
 */
const neededByPending = (before: number) => sql`
  select d.owner_id, d.event_id from integrations i
  cross join lateral (
    select owner_id, event_id from deliveries
    where integration_id = i.id and status = 'pending'
      and created_at < ${before + CREATED_WITH_EVENT_MS}
    offset 0) d`;

/**
 * SQLite: the oldest events first, a batch per statement. No index leads from an event to its
 * deliveries, so "no pending delivery needs it" is asked as one list of the event ids that
 * pending deliveries created before `before` (plus the margin) need, read once per statement
 * through `deliveries_integration` (named: with statistics from an `analyze`, SQLite would rather
 * scan the table); every pending delivery would be hundreds of ms a statement
 * with a large backlog, and the correlated `not exists` searched every delivery of the owner for
 * each event, seconds for a few thousand events. An event whose id a pending delivery of another
 * owner needs is kept a while longer, which is harmless. One statement at a time, and SQLite runs
 * one writer: a retry (`requeueFailed`) is either before it, and its event is kept, or after it,
 * and finds it gone.
 */
async function pruneEventsSqlite(db: Kysely<Database>, before: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await sqliteEventPrune(before).execute(db);
    const count = Number(result.numAffectedRows ?? 0);
    deleted += count;
    if (count < PRUNE_BATCH) return deleted;
    await letOthersRun();
  }
}

const sqliteEventPrune = (before: number) => sql`
  delete from events where rowid in (
    select rowid from events
    where received_at < ${before}
      and id not in (
        select event_id from deliveries indexed by deliveries_integration
        where integration_id in (select id from integrations)
          and status = 'pending' and created_at < ${before + CREATED_WITH_EVENT_MS}
          and event_id is not null)
    order by received_at
    limit ${PRUNE_BATCH})`;

/** The events one PostgreSQL prune transaction locks (and then deletes, checked again). */
const lockUnneeded = (before: number) => sql<{ owner_id: string; id: string }>`
  with needed as materialized (${neededByPending(before)})
  select e.owner_id, e.id from events e
  where e.received_at < ${before}
    and not exists (
      select 1 from needed n where n.event_id = e.id and n.owner_id = e.owner_id)
  limit ${PRUNE_BATCH}
  for update of e skip locked`;

/** The plan of one statement that picks the events to prune: for plan tests. */
export function explainEventPrune(db: Kysely<Database>, before: number): Promise<string> {
  return explainPlan(db, isPostgres(db) ? lockUnneeded(before) : sqliteEventPrune(before));
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
      const { rows } = await lockUnneeded(before).execute(trx);
      if (rows.length === 0) return { locked: 0, count: 0 };
      const result = await sql`
        with needed as materialized (${neededByPending(before)})
        delete from events
        using unnest(${rows.map((row) => row.owner_id)}::text[],
          ${rows.map((row) => row.id)}::text[]) as locked(owner_id, id)
        where events.owner_id = locked.owner_id and events.id = locked.id
          and not exists (
            select 1 from needed n
            where n.event_id = events.id and n.owner_id = events.owner_id)`.execute(trx);
      return { locked: rows.length, count: Number(result.numAffectedRows ?? 0) };
    });
    deleted += count;
    if (locked < PRUNE_BATCH) return deleted;
  }
}
