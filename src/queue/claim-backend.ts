/**
 * The two statements of a claim that differ between backends (one file per backend, like
 * Kysely's dialects): locking the due lanes, and leasing deliveries from them.
 */
import type { Kysely } from 'kysely';
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
  /** The backend's plan for the lease statement of one lane (EXPLAIN; nothing is changed). */
  explainClaim(db: Kysely<Database>, plan: LanePlan, now: number): Promise<string>;
}
