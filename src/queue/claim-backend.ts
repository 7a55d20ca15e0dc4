/**
 * The two statements of a claim that differ between backends (one file per backend, like
 * Kysely's dialects): locking the due lanes, and leasing deliveries from them.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { DeliveryRow } from '../store/delivery-store.js';
import type { LaneRow } from '../store/lane-store.js';
import type { LanePlan } from './lanes.js';

export type DueLane = LaneRow & { integration_version: number };

export interface ClaimBackend {
  /**
   * Up to `limit` lanes with work due and no hold, of enabled integrations, least recently served
   * first; on PostgreSQL locked, skipping lanes another worker is claiming from.
   */
  lockDueLanes(trx: Kysely<Database>, now: number, limit: number): Promise<DueLane[]>;
  /**
   * Leases up to `plan.take` due deliveries of each lane, earliest due first, skipping any that
   * waits behind an earlier pending delivery of the same integration and ordering key. A leased
   * row's `next_attempt_at` becomes its lease end, so a dead worker's delivery is due again then.
   */
  claimFromLanes(
    trx: Kysely<Database>,
    plans: readonly LanePlan[],
    workerId: string,
    now: number,
  ): Promise<DeliveryRow[]>;
  /**
   * Whether a claim that ran a lane dry may raise its due mark now: on PostgreSQL, only when no
   * transaction that is noting deliveries due on the lane is open (see `noteDue`).
   */
  mayRaiseDueMark(trx: Kysely<Database>, integrationId: string): Promise<boolean>;
  /** The backend's plan for the lease statement of one lane (EXPLAIN; nothing is changed). */
  explainClaim(db: Kysely<Database>, plan: LanePlan, now: number): Promise<string>;
}

/**
 * A backend's `lockDueLanes`: due lanes without a hold, of enabled integrations, least recently
 * served first; `lock`: with `FOR UPDATE SKIP LOCKED` on the lane rows (PostgreSQL).
 */
export function lockDueLanes(lock: boolean): ClaimBackend['lockDueLanes'] {
  return async (trx, now, limit) => (await dueLanesQuery(now, limit, lock).execute(trx)).rows;
}

function dueLanesQuery(now: number, limit: number, lock: boolean) {
  return sql<DueLane>`
      select l.*, i.version as integration_version
      from delivery_lanes l
      join integrations i on i.id = l.integration_id
      where l.next_due_at <= ${now} and l.hold_until <= ${now}
        and i.enabled = 1 and i.deleted_at is null
      order by l.served_at, l.integration_id
      limit ${limit}
      ${lock ? sql`for update of l skip locked` : sql``}`;
}
