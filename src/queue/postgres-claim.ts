/**
 * Claiming on PostgreSQL: lanes locked with `FOR UPDATE SKIP LOCKED` (two workers never claim
 * from one lane at once, so its limits are checked without races), then one statement that
 * leases the deliveries of every lane, itself `FOR UPDATE SKIP LOCKED`.
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

function claimStatement(plans: readonly LanePlan[], workerId: string, now: number) {
  return sql<DeliveryRow>`
      with picked as (
        select c.id, lane.lease_until
        from unnest(
          ${plans.map((p) => p.integrationId)}::text[],
          ${plans.map((p) => p.take)}::int[],
          ${plans.map((p) => p.leaseUntil)}::bigint[]
        ) as lane(integration_id, take, lease_until)
        cross join lateral (
          select d.id from deliveries d
          where d.integration_id = lane.integration_id
            and d.status = 'pending'
            and d.next_attempt_at <= ${now}
            and ${sql.raw(FIRST_OF_ITS_KEY)}
          order by d.next_attempt_at
          limit lane.take
          for update skip locked
        ) c
      )
      update deliveries set
        lease_owner = ${workerId},
        lease_until = picked.lease_until,
        next_attempt_at = picked.lease_until,
        attempts = deliveries.attempts + 1,
        updated_at = ${now}
      from picked
      where deliveries.id = picked.id
        -- Tells the planner the few ids up front, so it looks them up by primary key instead of
        -- hashing the whole table (it cannot see how small the lateral limits are).
        and deliveries.id = any(array(select id from picked))
      returning deliveries.*`;
}
