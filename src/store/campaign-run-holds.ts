/**
 * A paused campaign's pending deliveries are held: their retries, and those out at the pause (a
 * failed answer schedules a retry), wait for the resume. Pause and resume do it in the transaction
 * of their state change, with the campaign row locked, so the claim needs no look at the campaign:
 * a held delivery's `next_attempt_at` is its own time plus `HELD`, out of every claim's reach, and
 * a worker giving one back keeps it held (`scheduleRetry`, `releaseDelivery`). Killed between two
 * statements, a transaction leaves nothing half done: every delivery is held or none.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import { BLOCKED_AT, HELD } from './delivery-store.js';
import { noteDue } from './lane-store.js';
import { isPostgres } from './bulk-insert.js';
import { CAMPAIGN_KIND } from './campaign-run-moves.js';
import type { CampaignRow } from './campaign-store.js';

/** A run's held deliveries (`HELD` and `BLOCKED_AT` literal, as the pending indexes' bounds). */
const held = (campaignId: string) =>
  sql<boolean>`${CAMPAIGN_KIND} and campaign_id = ${campaignId} and status = 'pending'
    and next_attempt_at >= ${sql.lit(HELD)} and next_attempt_at < ${sql.lit(BLOCKED_AT)}`;

/**
 * Holds a pausing run's pending deliveries (after `rewindUnsent` took back those never sent):
 * those waiting for a retry, and those out now, whose worker keeps them held when it gives them
 * back.
 */
export async function holdPending(trx: Kysely<Database>, campaignId: string): Promise<void> {
  await trx
    .updateTable('deliveries')
    .set({ next_attempt_at: sql<number>`next_attempt_at + ${sql.lit(HELD)}` })
    .where(CAMPAIGN_KIND)
    .where('campaign_id', '=', campaignId)
    .where(sql<boolean>`status = 'pending' and next_attempt_at < ${sql.lit(HELD)}`)
    .execute();
}

/**
 * Lets a resuming run's held deliveries go. One whose time passed during the pause takes the next
 * slot of the run's rate, earliest first, before the contacts not sent yet (the run's next slot
 * moves past them): a long pause gathers retries that would otherwise all go at once. One whose
 * time is still ahead (a retry due later, a request still out) keeps it. Answers the columns the
 * campaign row takes with the resume (`moveTo` writes them with its state).
 */
export async function releaseHeld(
  trx: Kysely<Database>,
  row: CampaignRow,
  now: number,
): Promise<Partial<CampaignRow>> {
  // PostgreSQL: the held rows locked first, so a worker storing one's retry (held) has committed
  // before the statements below read the times; the update would otherwise write back the time
  // its subquery read before it waited for the row.
  if (isPostgres(trx))
    await trx.selectFrom('deliveries').select('id').where(held(row.id)).forUpdate().execute();
  const found = await trx
    .selectFrom('deliveries')
    .select([
      sql<
        number | string | null
      >`sum(case when next_attempt_at <= ${now + HELD} then 1 else 0 end)`.as('overdue'),
      (eb) => eb.fn.min<number | string | null>('next_attempt_at').as('first'),
    ])
    .where(held(row.id))
    .executeTakeFirstOrThrow();
  if (found.first === null) return {};
  const overdue = Number(found.overdue);
  const interval = 1000 / Number(row.rate_per_second);
  const first = Math.max(Number(row.next_send_at), now);
  // Ranked by their own time, the overdue ones first: the k-th of them takes slot k.
  await sql`
    update deliveries set
      next_attempt_at = case
        when ranked.at <= ${now}
          then cast(round(${first} + (ranked.n - 1) * cast(${interval} as double precision)) as bigint)
        else ranked.at end
    from (
      select id, next_attempt_at - ${sql.lit(HELD)} as at,
        row_number() over (order by next_attempt_at, id) as n
      from deliveries
      where ${held(row.id)}) as ranked
    where deliveries.id = ranked.id`.execute(trx);
  // A lower bound of the earliest (an overdue one goes at `first`, later than its own time).
  await noteDue(trx, new Map([[row.integration_id!, Number(found.first) - HELD]]), now);
  if (overdue === 0) return {};
  return { next_send_at: first + overdue * interval };
}
