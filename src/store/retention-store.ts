/** Pruning of old history: attempt logs and stored event bodies past the retention age. */
import { sql, type Kysely, type WhereInterface } from 'kysely';
import type { Database } from './schema.js';
import { isPostgres } from './bulk-insert.js';

export interface PruneResult {
  attempts: number;
  events: number;
}

/** Events pruned per transaction on PostgreSQL (each one's rows stay locked until it commits). */
const PRUNE_BATCH = 1_000;

/**
 * Deletes attempts older than `before` and events received before it that no pending delivery
 * still needs. Deliveries themselves stay (status, counts, last error), so the log keeps its rows.
 */
export async function pruneHistory(db: Kysely<Database>, before: number): Promise<PruneResult> {
  const attempts = await db
    .deleteFrom('attempts')
    .where('started_at', '<', before)
    .executeTakeFirst();
  const events = isPostgres(db)
    ? await pruneEventsLocked(db, before)
    : Number(
        (await unneededEvents(db.deleteFrom('events'), before).executeTakeFirst()).numDeletedRows,
      );
  return { attempts: Number(attempts.numDeletedRows), events };
}

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
