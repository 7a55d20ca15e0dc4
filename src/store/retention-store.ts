/** Pruning of old history: attempt logs and stored event bodies past the retention age. */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface PruneResult {
  attempts: number;
  events: number;
}

/**
 * Deletes attempts older than `before` and events received before it that no pending delivery
 * still needs. Deliveries themselves stay (status, counts, last error), so the log keeps its rows.
 */
export async function pruneHistory(db: Kysely<Database>, before: number): Promise<PruneResult> {
  const attempts = await db
    .deleteFrom('attempts')
    .where('started_at', '<', before)
    .executeTakeFirst();
  const events = await db
    .deleteFrom('events')
    .where('received_at', '<', before)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('deliveries')
            .select(sql<number>`1`.as('one'))
            .whereRef('deliveries.event_id', '=', 'events.id')
            .whereRef('deliveries.owner_id', '=', 'events.owner_id')
            .where('deliveries.status', '=', 'pending'),
        ),
      ),
    )
    .executeTakeFirst();
  return { attempts: Number(attempts.numDeletedRows), events: Number(events.numDeletedRows) };
}
