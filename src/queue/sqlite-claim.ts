/**
 * Claiming on SQLite: the claim runs inside one `begin immediate` transaction, so it holds the
 * database's write lock throughout and needs no row locks; per lane, one
 * `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING …`.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { type DeliveryRow } from '../store/delivery-store.js';
import { earlierPendingOfKey } from '../store/lane-keys.js';
import { explainPlan } from '../store/explain.js';
import { lockDueLanes, type ClaimBackend } from './claim-backend.js';
import type { LanePlan } from './lanes.js';

export const sqliteClaim: ClaimBackend = {
  lockDueLanes: lockDueLanes(false),

  async claimFromLanes(trx, plans, workerId, now) {
    const rows: DeliveryRow[] = [];
    for (const plan of plans) {
      rows.push(...(await claimStatement(plan, workerId, now).execute(trx)).rows);
    }
    return rows;
  },

  // One write transaction at a time: nothing uncommitted can be behind the claim's reads.
  mayRaiseDueMark: () => Promise.resolve(true),

  async explainClaim(db: Kysely<Database>, plan: LanePlan, now: number): Promise<string> {
    return explainPlan(db, claimStatement(plan, 'explain', now));
  },
};

function claimStatement(plan: LanePlan, workerId: string, now: number) {
  return sql<DeliveryRow>`
        update deliveries set
          lease_owner = ${workerId},
          lease_until = ${plan.leaseUntil},
          next_attempt_at = ${plan.leaseUntil},
          attempts = attempts + 1,
          updated_at = ${now}
        where id in (
          select d.id from deliveries d
          where d.integration_id = ${plan.integrationId}
            and d.status = 'pending'
            and d.next_attempt_at <= ${now}
            -- First of its call: nothing earlier of its integration and key pending or in flight.
            and not ${earlierPendingOfKey('d')}
          order by d.next_attempt_at
          limit ${plan.take})
        returning *`;
}
