/**
 * The queue's figures for `/metrics` and the dashboard's samples, read from the shared store so
 * every process reports the same: pending deliveries, those of them held until someone acts, the
 * age of the oldest one that is due and could go, open circuits (docs/delivery.md, "Metrics").
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import { BLOCKED_AT, HELD } from './delivery-store.js';

export interface QueueFigures {
  /** Pending deliveries, all of them. */
  pending: number;
  /**
   * Of `pending`, those that wait for someone to act, not for time or a remote: of an integration
   * that is disabled (or deleted), or held by their campaign's pause.
   */
  held: number;
  /** How long the earliest due delivery of an enabled integration has waited, in seconds. */
  oldestPendingAgeSeconds: number;
  /**
   * Enabled integrations whose circuit is open (cooling down), or half-open with deliveries
   * pending.
   */
  openCircuits: number;
}

/** A lane's integration can send: enabled and not deleted (as the claim asks). */
const CAN_SEND = sql<boolean>`i.enabled = 1 and i.deleted_at is null`;

/** The queue's figures at `now`. */
export async function queueSnapshot(db: Kysely<Database>, now: number): Promise<QueueFigures> {
  const pending = await db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(sql<boolean>`status = 'pending'`)
    .executeTakeFirstOrThrow();
  // Per lane, through `deliveries_lane` (every pending delivery's integration has a lane): all the
  // pending ones of an integration that cannot send, the held range of one that can.
  const held = await sql<{ n: number | string | null }>`
    select sum(case when ${CAN_SEND}
      then (select count(*) from deliveries d
        where d.integration_id = l.integration_id and d.status = 'pending'
          and d.next_attempt_at >= ${sql.lit(HELD)} and d.next_attempt_at < ${sql.lit(BLOCKED_AT)})
      else (select count(*) from deliveries d
        where d.integration_id = l.integration_id and d.status = 'pending') end) as n
    from delivery_lanes l join integrations i on i.id = l.integration_id`.execute(db);
  // The earliest due time among pending deliveries that could go: the first entry of each lane's
  // part of `deliveries_lane`, one probe per lane. A disabled integration's backlog waits for its
  // owner, by design: counted, it would age for as long as the integration stays off, and an
  // alert on this gauge would never clear.
  const { rows } = await sql<{ next_attempt_at: number | string | null }>`
    select min((
      select d.next_attempt_at from deliveries d
      where d.integration_id = l.integration_id and d.status = 'pending'
      order by d.next_attempt_at
      limit 1)) as next_attempt_at
    from delivery_lanes l join integrations i on i.id = l.integration_id
    where ${CAN_SEND}`.execute(db);
  const oldest = rows[0]?.next_attempt_at ?? null;
  // Of integrations that could send: a deleted or disabled one's lane keeps the circuit it had.
  // A circuit counts while it is open (cooling down) or half-open with deliveries pending (its
  // probe due, out, or waiting for those out). One whose cool-down is over with nothing pending
  // stays as it was in the lane until a delivery comes to probe it, maybe days later: the health
  // route reads it `half-open`, and it holds nothing back, so it is not counted.
  const circuits = await db
    .selectFrom('delivery_lanes as l')
    .innerJoin('integrations as i', 'i.id', 'l.integration_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('l.circuit', '<>', 'closed')
    .where(CAN_SEND)
    .where((eb) =>
      eb.or([
        eb.and([eb('l.circuit', '=', 'open'), eb('l.circuit_until', '>', now)]),
        eb.exists(
          eb
            .selectFrom('deliveries as d')
            .select(sql.lit(1).as('one'))
            .whereRef('d.integration_id', '=', 'l.integration_id')
            .where(sql<boolean>`d.status = 'pending'`),
        ),
      ]),
    )
    .executeTakeFirstOrThrow();
  const due = oldest === null ? now : Math.min(now, Number(oldest));
  return {
    pending: Number(pending.n),
    held: Number(held.rows[0]?.n ?? 0),
    oldestPendingAgeSeconds: (now - due) / 1000,
    openCircuits: Number(circuits.n),
  };
}
