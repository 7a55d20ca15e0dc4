/**
 * Claiming on PostgreSQL: lanes locked with `FOR UPDATE SKIP LOCKED` (two workers never claim
 * from one lane at once, so its limits are checked without races), then three statements, each
 * with one obvious plan whatever the table's statistics say (a queue table changes faster than
 * autovacuum analyzes it):
 *
 * 1. the due deliveries of every lane, earliest first, locked (`deliveries_lane`, a CTE per lane);
 * 2. for the ones with an ordering key, the first pending delivery of each key
 *    (`deliveries_ordering`, the only index on the lane key expression);
 * 3. the lease, for the candidates that are first of their key (primary key); the others, behind
 *    an earlier delivery of their call that arrived late, are parked (`BLOCKED_AT`) until it ends.
 *
 * One statement with the ordering check as a per-row subquery was planned well only with fresh
 * statistics: with stale ones PostgreSQL evaluated it for every pending row, 0.2–1 s per claim at
 * 20 k pending (docs/delivery.md, "Claiming").
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { BLOCKED_AT, type DeliveryRow } from '../store/delivery-store.js';
import { firstPendingOfKeys, firstPendingQuery, laneKey } from '../store/lane-keys.js';
import { explainPlan } from '../store/explain.js';
import { DUE_MARK_LOCK } from '../store/lane-store.js';
import { lockDueLanes, type ClaimBackend } from './claim-backend.js';
import type { LanePlan } from './lanes.js';

interface Candidate {
  id: string;
  integration_id: string;
  ordering_key: string | null;
  lease_until: number;
}

export const postgresClaim: ClaimBackend = {
  lockDueLanes: lockDueLanes(true),

  async claimFromLanes(trx, plans, workerId, now) {
    if (plans.length === 0) return [];
    const candidates = (await candidatesStatement(plans, now).execute(trx)).rows;
    const keys = [
      ...new Set(
        candidates
          .filter((c) => c.ordering_key !== null)
          .map((c) => laneKey(c.integration_id, c.ordering_key!)),
      ),
    ];
    const first = await firstPendingOfKeys(trx, keys);
    const picked: Candidate[] = [];
    // Due, but behind an earlier delivery of its call (one that arrived late): parked like a
    // delivery stored behind one, so it does not take a place in every claim until then.
    const behind: string[] = [];
    for (const c of candidates) {
      const isFirst =
        c.ordering_key === null ||
        first.get(laneKey(c.integration_id, c.ordering_key))?.id === c.id;
      if (isFirst) picked.push(c);
      else behind.push(c.id);
    }
    if (behind.length > 0)
      await sql`update deliveries set next_attempt_at = ${BLOCKED_AT}
        where id = any(${behind}::text[])`.execute(trx);
    if (picked.length === 0) return [];
    const ids = picked.map((c) => c.id);
    const leases = picked.map((c) => c.lease_until);
    const result = await sql<DeliveryRow>`
      update deliveries set
        lease_owner = ${workerId},
        lease_until = picked.lease_until,
        next_attempt_at = picked.lease_until,
        attempts = deliveries.attempts + 1,
        updated_at = ${now}
      from unnest(${ids}::text[], ${leases}::bigint[]) as picked(id, lease_until)
      where deliveries.id = picked.id and deliveries.id = any(${ids}::text[])
      returning deliveries.*`.execute(trx);
    return result.rows;
  },

  async mayRaiseDueMark(trx: Kysely<Database>, integrationId: string): Promise<boolean> {
    // Held to the claim's commit: a transaction noting deliveries due on the lane from now on
    // waits for it, then lowers the raised mark.
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_xact_lock(${DUE_MARK_LOCK}, hashtext(${integrationId})) as locked`.execute(
      trx,
    );
    return rows[0]!.locked;
  },

  async explainClaim(db: Kysely<Database>, plan: LanePlan, now: number): Promise<string> {
    const key = laneKey(plan.integrationId, 'call:explain');
    return [
      await explainPlan(db, candidatesStatement([plan], now)),
      await explainPlan(db, firstPendingQuery(true, [key])),
    ].join('\n');
  },
};

/**
 * Up to `plan.take` due deliveries of each lane, earliest first, locked; with each lane's lease
 * end. One CTE per lane with its id and limit bound, so each is planned with the actual values.
 */
function candidatesStatement(plans: readonly LanePlan[], now: number) {
  const lanes = plans.map(
    (plan, index) => sql`${sql.id(`lane${index}`)} as (
        select d.id, d.integration_id, d.ordering_key, ${plan.leaseUntil}::bigint as lease_until
        from deliveries d
        where d.integration_id = ${plan.integrationId}
          and d.status = 'pending'
          and d.next_attempt_at <= ${now}
        order by d.next_attempt_at
        limit ${plan.take}
        for update skip locked)`,
  );
  const union = sql.join(
    plans.map((_, index) => sql`select * from ${sql.id(`lane${index}`)}`),
    sql` union all `,
  );
  return sql<Candidate>`with ${sql.join(lanes)} ${union}`;
}
