/**
 * Set-based writes over many deliveries at once: the group-commit fast path of the queue and the
 * sweep of parked deliveries. The one-by-one writes are in delivery-store.ts.
 */
import { sql, type Kysely } from 'kysely';
import { explainPlan } from './explain.js';
import { bulkInsert, isPostgres, type ColumnType } from './bulk-insert.js';
import type { Database } from './schema.js';
import { noteDue } from './lane-store.js';
import { BLOCKED_AT, CHUNK, PENDING, type AttemptInput } from './delivery-store.js';
import {
  earlierPendingOfKey,
  firstPendingOfKeys,
  laneKey,
  otherInFlightOfKey,
} from './lane-keys.js';

/**
 * Ends several leased deliveries as `succeeded` in one statement (the group-commit fast path);
 * answers the ids whose lease still held. Each row is guarded like `finishDelivery`: pending,
 * leased by `leaseOwner`, at the claimed attempt.
 */
export async function finishSucceeded(
  trx: Kysely<Database>,
  leaseOwner: string,
  claims: readonly { id: string; attempt: number; lastStatus: number | null }[],
  now: number,
): Promise<Set<string>> {
  const applied = new Set<string>();
  // One statement per distinct status (nearly always one: 200).
  const byStatus = new Map<number | null, { id: string; attempt: number }[]>();
  for (const claim of claims)
    byStatus.set(claim.lastStatus, [...(byStatus.get(claim.lastStatus) ?? []), claim]);
  for (const [lastStatus, group] of byStatus) {
    for (let i = 0; i < group.length; i += CHUNK) {
      const pairs = group
        .slice(i, i + CHUNK)
        .map((c) => sql`(${c.id}, cast(${c.attempt} as integer))`);
      const rows = await trx
        .updateTable('deliveries')
        .set({
          status: 'succeeded',
          lease_owner: null,
          lease_until: null,
          last_error: null,
          last_status: lastStatus,
          updated_at: now,
          completed_at: now,
        })
        .where(PENDING)
        .where('lease_owner', '=', leaseOwner)
        .where(sql<boolean>`(id, attempts) in (values ${sql.join(pairs)})`)
        .returning('id')
        .execute();
      for (const row of rows) applied.add(row.id);
    }
  }
  return applied;
}

/** The columns `insertAttempts` writes, with their PostgreSQL types (see `bulkInsert`). */
const ATTEMPT_COLUMNS: readonly (readonly [string, ColumnType])[] = [
  ['delivery_id', 'text'],
  ['attempt', 'integer'],
  ['integration_version', 'integer'],
  ['started_at', 'bigint'],
  ['duration_ms', 'double precision'],
  ['outcome', 'text'],
  ['request', 'text'],
  ['response', 'text'],
  ['error', 'text'],
];

/**
 * `insertAttempt` for many rows at once. PostgreSQL keeps Kysely's `VALUES` list: an error
 * message may quote half a UTF-16 surrogate pair from a remote or a template, which pg sends as
 * U+FFFD but `json_to_recordset` (bulkInsert) refuses, and with it the whole batch.
 */
export async function insertAttempts(
  trx: Kysely<Database>,
  attempts: readonly (AttemptInput & { deliveryId: string })[],
): Promise<void> {
  const postgres = isPostgres(trx);
  for (let i = 0; i < attempts.length; i += CHUNK) {
    const rows = attempts.slice(i, i + CHUNK).map((a) => ({
      delivery_id: a.deliveryId,
      attempt: a.attempt,
      integration_version: a.integrationVersion,
      started_at: a.startedAt,
      duration_ms: a.durationMs,
      outcome: a.outcome,
      request: a.request,
      response: a.response,
      error: a.error,
    }));
    if (postgres) await trx.insertInto('attempts').values(rows).execute();
    else await bulkInsert(trx, 'attempts', ATTEMPT_COLUMNS, rows);
  }
}

/**
 * Of these (integration, ordering key) pairs, the lane keys (`laneKey`) that still have a pending
 * delivery: only those can have a successor waiting, so `releaseSuccessor` runs for them alone.
 */
export async function keysWithPending(
  trx: Kysely<Database>,
  keys: readonly { integrationId: string; orderingKey: string }[],
): Promise<Set<string>> {
  const first = await firstPendingOfKeys(
    trx,
    keys.map((k) => laneKey(k.integrationId, k.orderingKey)),
  );
  return new Set(first.keys());
}

/**
 * Makes due every parked delivery (stored behind an earlier one of its call, or retried while
 * another of its call was out) whose earlier deliveries are all gone from `pending` and none of
 * whose call is under a live lease. Normally `releaseSuccessor` does this as the earlier one
 * finishes; on PostgreSQL an ingest and a completion committing at the same moment can miss each
 * other, so workers sweep now and then. Answers how many were released.
 */
export async function unparkOrphans(trx: Kysely<Database>, now: number): Promise<number> {
  const rows = await unparkQuery(trx, now).execute();
  if (rows.length > 0)
    await noteDue(trx, new Map(rows.map((row) => [row.integration_id, now])), now);
  return rows.length;
}

/** The sweep's statement (`explainSweep` shows its plan). */
function unparkQuery(trx: Kysely<Database>, now: number) {
  return (
    trx
      .updateTable('deliveries')
      .set({ next_attempt_at: now, updated_at: now })
      // Literally as in `deliveries_parked`'s predicate (migration 0004): a bound parameter would
      // not match it, and the sweep would read every pending delivery.
      .where(sql<boolean>`status = 'pending' and next_attempt_at = ${sql.lit(BLOCKED_AT)}`)
      .where(sql<boolean>`not ${earlierPendingOfKey('deliveries')}`)
      // Nor while another of its call is out (one cancelled in flight, or a later one when this one
      // was retried or replayed): released by that one's completion, or after its lease.
      .where(sql<boolean>`not ${otherInFlightOfKey('deliveries', now)}`)
      .returning('integration_id')
  );
}

/** The plan of the sweep's statement, as the database would run it now. */
export function explainSweep(db: Kysely<Database>): Promise<string> {
  return explainPlan(db, unparkQuery(db, 0));
}

/** At most this many deliveries of deleted integrations are cancelled by one sweep. */
export const DELETED_SWEEP_BATCH = 1_000;
/** The advisory lock (PostgreSQL) a sweep of deleted integrations' deliveries holds. */
const DELETED_SWEEP_LOCK = 0x44656c64; // "Deld"
/** At most this many deleted integrations are looked at by one sweep (the rest, by the next). */
const DELETED_SWEEP_INTEGRATIONS = 100;

/**
 * Cancels up to `limit` pending deliveries of deleted integrations, as the delete does (`cancelled`,
 * `integration deleted`); answers how many. Nothing would ever claim them: on PostgreSQL an ingest
 * that read an integration's bindings before its delete committed stores them after the delete's
 * cancel (ingest takes no lock on the integration; a lock there could deadlock with a completion
 * that disables it), so workers sweep them now and then. The sweep starts from the deleted
 * integrations (a few rows, not the backlog): one probe of `deliveries_lane` each.
 */
export async function cancelOfDeleted(
  trx: Kysely<Database>,
  now: number,
  limit = DELETED_SWEEP_BATCH,
): Promise<number> {
  // One worker at a time (the others skip this round): two sweeps updating the same rows in
  // different orders could deadlock. SQLite runs one write transaction at a time anyway.
  if (isPostgres(trx)) {
    const { rows } = await sql<{ got: boolean }>`
      select pg_try_advisory_xact_lock(${sql.lit(DELETED_SWEEP_LOCK)}) as got`.execute(trx);
    if (rows[0]?.got !== true) return 0;
  }
  const { rows: integrations } = await deletedWithPendingQuery().execute(trx);
  let cancelled = 0;
  for (const { id } of integrations) {
    if (cancelled >= limit) break;
    cancelled += await cancelPendingOf(trx, id, limit - cancelled, now);
  }
  return cancelled;
}

/**
 * Up to `take` pending deliveries of integration `id`, earliest due first: a range of
 * `deliveries_lane`, ordered as the index is, so no plan reads the integration's whole backlog.
 */
function pendingOf(id: string, take: number) {
  // `status` literally, as in `deliveries_lane`'s predicate (migration 0002).
  return sql<{ id: string }>`
    select id from deliveries
    where integration_id = ${id} and status = 'pending'
    order by next_attempt_at
    limit ${sql.lit(take)}`;
}

/** Cancels up to `take` pending deliveries of integration `id`, by id; answers how many. */
async function cancelPendingOf(
  trx: Kysely<Database>,
  id: string,
  take: number,
  now: number,
): Promise<number> {
  const { rows } = await pendingOf(id, take).execute(trx);
  const ids = rows.map((row) => row.id);
  let cancelled = 0;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const result = await trx
      .updateTable('deliveries')
      .set({
        status: 'cancelled',
        last_error: 'integration deleted',
        updated_at: now,
        completed_at: now,
      })
      .where('id', 'in', ids.slice(i, i + CHUNK))
      // Again on the row itself: on PostgreSQL a cancel may have ended it since the read.
      .where(PENDING)
      .executeTakeFirst();
    cancelled += Number(result.numUpdatedRows);
  }
  return cancelled;
}

/**
 * Deleted integrations that still have a pending delivery. It reads the integrations (a table of
 * configured endpoints, not of traffic); the check is a scalar subquery with `limit 1`, which the
 * planner cannot turn into a join over every pending delivery, ordered as `deliveries_lane` is so
 * that no plan scans the backlog for a first match: each deleted integration costs one index
 * probe, however large the backlog.
 */
function deletedWithPendingQuery() {
  return sql<{ id: string }>`
    select i.id from integrations i
    where i.deleted_at is not null
      and (select 1 from deliveries d
        where d.integration_id = i.id and d.status = 'pending'
        order by d.next_attempt_at
        limit 1) is not null
    order by i.id
    limit ${sql.lit(DELETED_SWEEP_INTEGRATIONS)}`;
}

/** The plans of `cancelOfDeleted`'s two statements, as the database would run them now. */
export async function explainDeletedSweep(
  db: Kysely<Database>,
  integrationId: string,
): Promise<string> {
  const find = await explainPlan(db, deletedWithPendingQuery());
  const cancel = await explainPlan(db, pendingOf(integrationId, DELETED_SWEEP_BATCH));
  return `${find}\n${cancel}`;
}
