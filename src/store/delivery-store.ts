/**
 * Deliveries and their attempts: the rows the queue (src/queue/) claims and completes. Claiming
 * itself is backend-specific and lives in src/queue/{postgres,sqlite}-claim.ts; everything here is
 * portable SQL. Every statement that reads pending rows spells `status = 'pending'` as a literal
 * so SQLite can match the partial indexes (it does not look into bound parameters).
 */
import {
  sql,
  type Kysely,
  type Selectable,
  type UpdateQueryBuilder,
  type UpdateResult,
} from 'kysely';
import type { Database, DeliveriesTable } from './schema.js';
import { noteDue } from './lane-store.js';
import { bulkInsert, type ColumnType } from './bulk-insert.js';
import { firstPendingOfKeys, inFlightKeysOfLanes, laneKey, laneKeyOf } from './lane-keys.js';
import { insertAttempts } from './delivery-batch-store.js';

/**
 * `next_attempt_at` of a delivery waiting behind an earlier pending one of the same call: far
 * past any real time, so it sits at the end of the claim index and is never scanned.
 */
export const BLOCKED_AT = 8_640_000_000_000_000;

/**
 * Added to the `next_attempt_at` of a paused campaign's pending deliveries (its retries, and those
 * out at the pause): far past any real time and below `BLOCKED_AT`, so no claim reaches them, and
 * resume takes it off again to find each one's own time (src/store/campaign-run-holds.ts).
 */
export const HELD = 4_000_000_000_000_000;

/**
 * `at`, or `at` held as the row is now: what a worker writes to `next_attempt_at` when it gives a
 * claimed delivery back (a retry, a release). A campaign paused while the request was out held the
 * row, and its next attempt waits for the resume like the rest.
 */
function keepHeld(at: number) {
  return sql<number>`${at} + case
    when next_attempt_at >= ${sql.lit(HELD)} and next_attempt_at < ${sql.lit(BLOCKED_AT)}
    then ${sql.lit(HELD)} else 0 end`;
}

export const PENDING = sql<boolean>`status = 'pending'`;

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'cancelled';
export type DeliveryRow = Selectable<DeliveriesTable>;

/** A delivery to store. `EventStore`'s `NewDelivery` fits. */
export interface DeliveryInput {
  id: string;
  ownerId: string;
  integrationId: string;
  /** `event` (default), `campaign` or `ivr`. */
  kind?: string;
  eventId?: string | null;
  campaignId?: string | null;
  contactId?: string | null;
  /** Deliveries of one integration with the same key go out one at a time, by `sequence`. */
  orderingKey?: string | null;
  sequence?: number;
  /** Default: now. */
  nextAttemptAt?: number;
}

/** A delivery and what it belongs to: what every view of a delivery row starts with. */
export interface DeliveryIdentity {
  id: string;
  ownerId: string;
  integrationId: string;
  kind: string;
  eventId: string | null;
  campaignId: string | null;
  contactId: string | null;
}

/** A delivery under this worker's lease. `attempt` is the number of the attempt being made. */
export interface ClaimedDelivery extends DeliveryIdentity {
  orderingKey: string | null;
  sequence: number;
  /** 1-based over the delivery's whole life (the attempt log's numbering). */
  attempt: number;
  /** 1-based within the current retry budget (what the retry policy counts). */
  budgetAttempt: number;
  leaseOwner: string;
  leaseUntil: number;
  createdAt: number;
  /**
   * The integration's version when the delivery was claimed: the attempt renders with this one
   * or a later one, never with a row cached from before an edit the claim saw.
   */
  integrationVersion: number;
}

/** A row's `DeliveryIdentity`. */
export function deliveryIdentity(row: DeliveryRow): DeliveryIdentity {
  return {
    id: row.id,
    ownerId: row.owner_id,
    integrationId: row.integration_id,
    kind: row.kind,
    eventId: row.event_id,
    campaignId: row.campaign_id,
    contactId: row.contact_id,
  };
}

export function toClaimed(row: DeliveryRow, integrationVersion: number): ClaimedDelivery {
  return {
    ...deliveryIdentity(row),
    orderingKey: row.ordering_key,
    sequence: Number(row.sequence),
    attempt: row.attempts,
    budgetAttempt: row.attempts - row.attempt_offset,
    leaseOwner: row.lease_owner ?? '',
    leaseUntil: Number(row.lease_until),
    createdAt: Number(row.created_at),
    integrationVersion,
  };
}

/** One attempt as the log keeps it. */
export interface AttemptInput {
  attempt: number;
  integrationVersion: number;
  startedAt: number;
  durationMs: number;
  /** `succeeded`, `retry` or `failed`: what the attempt led to. */
  outcome: string;
  /** JSON of the request as sent, secrets masked. */
  request: string;
  /** JSON of status, headers and the first 64 KiB of the body; null when nothing answered. */
  response: string | null;
  error: string | null;
}

/** The columns `enqueueDeliveries` writes, with their PostgreSQL types (see `bulkInsert`). */
const NEW_DELIVERY_COLUMNS: readonly (readonly [string, ColumnType])[] = [
  ['id', 'text'],
  ['owner_id', 'text'],
  ['integration_id', 'text'],
  ['kind', 'text'],
  ['event_id', 'text'],
  ['campaign_id', 'text'],
  ['contact_id', 'text'],
  ['ordering_key', 'text'],
  ['sequence', 'bigint'],
  ['status', 'text'],
  ['attempts', 'integer'],
  ['next_attempt_at', 'bigint'],
  ['created_at', 'bigint'],
  ['updated_at', 'bigint'],
];

/** Rows per multi-row statement (well under both backends' parameter limits). */
export const CHUNK = 500;

/**
 * Stores deliveries inside the caller's transaction, so an event and its deliveries commit
 * together. A delivery behind an earlier pending one of the same integration and ordering key,
 * or stored while one of them is in flight, is stored blocked (`BLOCKED_AT`) and released when
 * that one finishes.
 *
 * ### Examples
 * ```ts
 * await db.transaction().execute(async (trx) => {
 *   await trx.insertInto('events').values(event).execute();
 *   await enqueueDeliveries(trx, [{ id: uuidv7(), ownerId, integrationId, eventId: event.id }]);
 * });
 * ```
 */
export async function enqueueDeliveries(
  trx: Kysely<Database>,
  deliveries: readonly DeliveryInput[],
  now: number = Date.now(),
): Promise<void> {
  if (deliveries.length === 0) return;
  const keyed = deliveries.filter((d) => d.orderingKey != null);
  // The earliest pending sequence already stored per lane key.
  const stored = await firstPendingOfKeys(
    trx,
    keyed.map((d) => laneKey(d.integrationId, d.orderingKey!)),
  );
  // A delivery of the call whose request is out holds the call's turn: an earlier one (maybe
  // cancelled while out) or a later one (an earlier event arriving late goes after it ends).
  const out = await inFlightKeysOfLanes(
    trx,
    keyed.map((d) => d.integrationId),
    now,
  );
  const blocked = new Set<DeliveryInput>();
  const groups = new Map<string, DeliveryInput[]>();
  for (const d of keyed) {
    const key = laneKey(d.integrationId, d.orderingKey!);
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  for (const [key, group] of groups) {
    group.sort((a, b) => (a.sequence ?? 0) - (b.sequence ?? 0) || (a.id < b.id ? -1 : 1));
    const first = stored.get(key)?.sequence ?? Infinity;
    group.forEach((d, index) => {
      if (index > 0 || first <= (d.sequence ?? 0) || out.has(key)) blocked.add(d);
    });
  }
  const due = new Map<string, number>();
  const rows = deliveries.map((d) => {
    const at = blocked.has(d) ? BLOCKED_AT : (d.nextAttemptAt ?? now);
    due.set(d.integrationId, Math.min(due.get(d.integrationId) ?? BLOCKED_AT, at));
    return {
      id: d.id,
      owner_id: d.ownerId,
      integration_id: d.integrationId,
      kind: d.kind ?? 'event',
      event_id: d.eventId ?? null,
      campaign_id: d.campaignId ?? null,
      contact_id: d.contactId ?? null,
      ordering_key: d.orderingKey ?? null,
      sequence: d.sequence ?? 0,
      status: 'pending',
      attempts: 0,
      next_attempt_at: at,
      created_at: now,
      updated_at: now,
    };
  });
  for (let i = 0; i < rows.length; i += CHUNK)
    await bulkInsert(trx, 'deliveries', NEW_DELIVERY_COLUMNS, rows.slice(i, i + CHUNK));
  await noteDue(trx, due, now);
}

export interface LeaseGuard {
  id: string;
  leaseOwner: string;
  attempt: number;
}

type DeliveriesUpdate = UpdateQueryBuilder<Database, 'deliveries', 'deliveries', UpdateResult>;

/** Only the claim that holds the lease may move a delivery on. */
function guarded(query: DeliveriesUpdate, claim: LeaseGuard): DeliveriesUpdate {
  return query
    .where('id', '=', claim.id)
    .where(PENDING)
    .where('lease_owner', '=', claim.leaseOwner)
    .where('attempts', '=', claim.attempt);
}

/** Ends a delivery (`succeeded`, `failed`); false when the lease was lost (cancelled, re-claimed). */
export async function finishDelivery(
  trx: Kysely<Database>,
  claim: LeaseGuard,
  status: 'succeeded' | 'failed',
  fields: { error: string | null; lastStatus: number | null; now: number },
): Promise<boolean> {
  const result = await guarded(
    trx.updateTable('deliveries').set({
      status,
      lease_owner: null,
      lease_until: null,
      last_error: fields.error,
      last_status: fields.lastStatus,
      updated_at: fields.now,
      completed_at: fields.now,
    }),
    claim,
  ).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Schedules the next attempt at `at`; false when the lease was lost. The lane's due mark is the
 * caller's to lower (`noteDue`), with its other lane writes.
 */
export async function scheduleRetry(
  trx: Kysely<Database>,
  claim: LeaseGuard,
  at: number,
  fields: { error: string | null; lastStatus: number | null; now: number },
): Promise<boolean> {
  const result = await guarded(
    trx.updateTable('deliveries').set({
      lease_owner: null,
      lease_until: null,
      next_attempt_at: keepHeld(at),
      last_error: fields.error,
      last_status: fields.lastStatus,
      updated_at: fields.now,
    }),
    claim,
  ).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Gives a claimed delivery back unattempted (shutdown): due now, the attempt not counted. The
 * lane's due mark is the caller's to lower (`noteDue`).
 */
export async function releaseDelivery(
  trx: Kysely<Database>,
  claim: LeaseGuard,
  now: number,
): Promise<boolean> {
  const result = await guarded(
    trx.updateTable('deliveries').set((eb) => ({
      lease_owner: null,
      lease_until: null,
      next_attempt_at: keepHeld(now),
      attempts: eb('attempts', '-', 1),
      updated_at: now,
    })),
    claim,
  ).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function insertAttempt(
  trx: Kysely<Database>,
  deliveryId: string,
  attempt: AttemptInput,
): Promise<void> {
  await insertAttempts(trx, [{ ...attempt, deliveryId }]);
}

/**
 * After a delivery with an ordering key leaves `pending`, the next one of its integration and
 * key (if it was stored blocked) becomes due now; also after one goes back to waiting (a retry
 * scheduled, given back unsent), which frees an earlier one retried or replayed while it was out.
 * True when one did: the lane's due mark is then the caller's to lower (`noteDue`).
 */
export async function releaseSuccessor(
  trx: Kysely<Database>,
  integrationId: string,
  orderingKey: string | null,
  now: number,
): Promise<boolean> {
  if (orderingKey === null) return false;
  const next = await trx
    .selectFrom('deliveries')
    .select(['id', 'next_attempt_at'])
    .where(laneKeyOf(), '=', laneKey(integrationId, orderingKey))
    .where(PENDING)
    .where('ordering_key', 'is not', null)
    .orderBy('sequence')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  if (next === undefined || Number(next.next_attempt_at) !== BLOCKED_AT) return false;
  await trx
    .updateTable('deliveries')
    .set({ next_attempt_at: now, updated_at: now })
    .where('id', '=', next.id)
    .execute();
  return true;
}
