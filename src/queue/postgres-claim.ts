/**
 * Claiming on PostgreSQL: lanes locked with `FOR UPDATE SKIP LOCKED` (two workers never claim
 * from one lane at once, so its limits are checked without races), then one statement that
 * leases the deliveries of every lane (a `FOR UPDATE SKIP LOCKED` CTE per lane).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { DeliveryRow } from '../store/delivery-store.js';
import { FIRST_OF_ITS_KEY, type ClaimBackend, type DueLane } from './claim-backend.js';
import type { LanePlan } from './lanes.js';

export const postgresClaim: ClaimBackend = {
  async lockDueLanes(trx: Kysely<Database>, now: number, limit: number): Promise<DueLane[]> {
    const result = await sql<DueLane>`
      select l.*, i.version as integration_version
      from delivery_lanes l
      join integrations i on i.id = l.integration_id
      where l.next_due_at <= ${now} and l.hold_until <= ${now}
        and i.enabled = 1 and i.deleted_at is null
      order by l.served_at, l.integration_id
      limit ${limit}
      for update of l skip locked`.execute(trx);
    return result.rows;
  },

  async claimFromLanes(
    trx: Kysely<Database>,
    plans: readonly LanePlan[],
    workerId: string,
    now: number,
  ): Promise<DeliveryRow[]> {
    if (plans.length === 0) return [];
    return (await claimStatement(plans, workerId, now).execute(trx)).rows;
  },

  async explainClaim(db: Kysely<Database>, plan: LanePlan, now: number): Promise<string> {
    const result = await sql<{
      'QUERY PLAN': string;
    }>`explain ${claimStatement([plan], 'explain', now)}`.execute(db);
    return result.rows.map((row) => row['QUERY PLAN']).join('\n');
  },
};

/**
 * One CTE per lane with the lane's id and limit as bound values, so PostgreSQL plans each with
 * the actual values (a lateral join over an array hides them, and the planner then walks every
 * integration's rows by due time instead of this lane's index range).
 */
function claimStatement(plans: readonly LanePlan[], workerId: string, now: number) {
  const lanes = plans.map(
    (plan, index) => sql`${sql.id(`lane${index}`)} as (
        select d.id, ${plan.leaseUntil}::bigint as lease_until from deliveries d
        where d.integration_id = ${plan.integrationId}
          and d.status = 'pending'
          and d.next_attempt_at <= ${now}
          and ${sql.raw(FIRST_OF_ITS_KEY)}
        order by d.next_attempt_at
        limit ${plan.take}
        for update skip locked)`,
  );
  const union = sql.join(
    plans.map((_, index) => sql`select * from ${sql.id(`lane${index}`)}`),
    sql` union all `,
  );
  return sql<DeliveryRow>`
      with ${sql.join(lanes)}, picked as (${union})
      update deliveries set
        lease_owner = ${workerId},
        lease_until = picked.lease_until,
        next_attempt_at = picked.lease_until,
        attempts = deliveries.attempts + 1,
        updated_at = ${now}
      from picked
      where deliveries.id = picked.id
        -- Tells the planner the few ids up front, so it looks them up by primary key instead of
        -- hashing the whole table.
        and deliveries.id = any(array(select id from picked))
      returning deliveries.*`;
}
