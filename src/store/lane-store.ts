/**
 * Delivery lanes: one row per integration with the state its limits need across every worker
 * process (token bucket, circuit, holds) and a lower bound of when its next delivery is due, so
 * a claim looks at due lanes first and then at a few rows of each (docs/delivery.md).
 */
import { sql, type Kysely, type Selectable, type Updateable } from 'kysely';
import type { Database, DeliveryLanesTable } from './schema.js';
import { isPostgres } from './bulk-insert.js';
import { leasedRows } from './lane-keys.js';

export type LaneRow = Selectable<DeliveryLanesTable>;
export type LanePatch = Updateable<DeliveryLanesTable>;

/** `next_due_at` of a lane with nothing pending. */
export const NEVER = 8_640_000_000_000_000;

/**
 * The one order every transaction takes lane rows in (integration id, code unit by code unit), so
 * no two can wait for each other's lanes.
 */
export const laneOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Advisory lock class of a lane's due mark on PostgreSQL (two-key form, `hashtext` of the
 * integration id as the second key; the migration lock uses the one-key form, another space).
 */
export const DUE_MARK_LOCK = 0x4c616e65; // "Lane"

/**
 * Records that each integration has a delivery due at the given time: creates missing lanes and
 * lowers `next_due_at`. The update only touches a lane whose bound is later, so an ingest does not
 * lock a busy lane a claim is working on.
 *
 * On PostgreSQL a claim that found a lane dry raises its bound from what it can see, which leaves
 * out this transaction's uncommitted deliveries. So first each lane's due-mark lock is taken in
 * share mode (ingests never wait for one another): a claim raises the bound only when it gets that
 * lock exclusively (`mayRaiseDueMark`), so either it leaves the bound alone while this
 * transaction is open, or this one waits for its commit and then lowers what it wrote.
 */
export async function noteDue(
  trx: Kysely<Database>,
  due: ReadonlyMap<string, number>,
  now: number,
): Promise<void> {
  if (due.size === 0) return;
  const ids = [...due.keys()].sort(laneOrder);
  if (isPostgres(trx)) {
    // Its own statement, before the update: a statement's snapshot is taken when it starts, so an
    // update in the same statement as the lock could still read the bound the claim replaced.
    await sql`select pg_advisory_xact_lock_shared(${DUE_MARK_LOCK}, hashtext(id))
      from unnest(cast(${ids} as text[])) as lane(id)`.execute(trx);
  }
  await trx
    .insertInto('delivery_lanes')
    .values(ids.map((id) => ({ integration_id: id, next_due_at: due.get(id)!, updated_at: now })))
    .onConflict((oc) => oc.column('integration_id').doNothing())
    .execute();
  for (const id of ids) {
    const at = due.get(id)!;
    await trx
      .updateTable('delivery_lanes')
      .set({ next_due_at: at })
      .where('integration_id', '=', id)
      .where('next_due_at', '>', at)
      .execute();
  }
}

/** An integration's current version: its options and when it was saved. */
export interface CurrentLimits {
  version: number;
  options: string;
  savedAt: number;
}

/** The current version of each integration, for lanes whose limits were read from an older one. */
export async function readLimits(
  trx: Kysely<Database>,
  integrationIds: readonly string[],
): Promise<Map<string, CurrentLimits>> {
  const result = new Map<string, CurrentLimits>();
  if (integrationIds.length === 0) return result;
  const rows = await trx
    .selectFrom('integrations')
    .innerJoin('integration_versions', (join) =>
      join
        .onRef('integration_versions.integration_id', '=', 'integrations.id')
        .onRef('integration_versions.version', '=', 'integrations.version'),
    )
    .select([
      'integrations.id',
      'integrations.version',
      'integration_versions.options',
      'integration_versions.created_at',
    ])
    .where('integrations.id', 'in', [...integrationIds])
    .execute();
  for (const row of rows)
    result.set(row.id, {
      version: row.version,
      options: row.options,
      savedAt: Number(row.created_at),
    });
  return result;
}

/**
 * Deliveries of each integration under a live lease at `now` (`InFlight`), whatever their status: one
 * cancelled while its request is out keeps its lease (`cancelDelivery`) and its slot until then.
 * Read through `deliveries_leased`, which holds only rows under a lease.
 */
export async function countLeased(
  trx: Kysely<Database>,
  integrationIds: readonly string[],
  now: number,
): Promise<Map<string, InFlight>> {
  const counts = new Map<string, InFlight>();
  if (integrationIds.length === 0) return counts;
  const rows = await countLeasedQuery(trx, integrationIds, now).execute();
  for (const row of rows)
    counts.set(row.integration_id, { count: Number(row.n), until: Number(row.until) });
  return counts;
}

/** An integration's deliveries under a live lease: how many, and when the last lease ends. */
export interface InFlight {
  count: number;
  until: number;
}

/** The statement of `countLeased` (exported for EXPLAIN). */
export function countLeasedQuery(
  trx: Kysely<Database>,
  integrationIds: readonly string[],
  now: number,
) {
  return leasedRows(trx, integrationIds, now)
    .select([
      'integration_id',
      (eb) => eb.fn.countAll<number>().as('n'),
      (eb) => eb.fn.max('lease_until').as('until'),
    ])
    .groupBy('integration_id');
}

/** The earliest `next_attempt_at` among an integration's pending deliveries, or `NEVER`. */
export async function earliestDue(trx: Kysely<Database>, integrationId: string): Promise<number> {
  const row = await trx
    .selectFrom('deliveries')
    .select('next_attempt_at')
    .where('integration_id', '=', integrationId)
    .where(sql<boolean>`status = 'pending'`)
    .orderBy('next_attempt_at')
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? NEVER : Math.min(NEVER, Number(row.next_attempt_at));
}

/** An update of one integration's lane: the caller sets what changes (and may narrow `where`). */
function laneUpdate(trx: Kysely<Database>, integrationId: string) {
  return trx.updateTable('delivery_lanes').where('integration_id', '=', integrationId);
}

export async function updateLane(
  trx: Kysely<Database>,
  integrationId: string,
  patch: LanePatch,
): Promise<void> {
  await laneUpdate(trx, integrationId).set(patch).execute();
}

/** Reads a lane; `lock` takes its row lock on PostgreSQL (SQLite holds the write lock already). */
export async function readLane(
  trx: Kysely<Database>,
  integrationId: string,
  lock: boolean,
): Promise<LaneRow | undefined> {
  const query = trx
    .selectFrom('delivery_lanes')
    .selectAll()
    .where('integration_id', '=', integrationId);
  return (lock ? query.forUpdate() : query).executeTakeFirst();
}

/** What an operator reads of an integration's deliveries: its circuit, streak, hold and queue. */
export interface LaneHealth {
  /** `half-open` also once an open circuit's cool-down is over: the next claim takes a probe. */
  circuit: 'closed' | 'open' | 'half-open';
  /** An open circuit: when its cool-down ends and a probe may go (ms). */
  probeAt: number | null;
  consecutiveFailures: number;
  /** The first failure of the current streak (ms), when there is one. */
  failingSince: number | null;
  /** Why the lane is not claimed now (concurrency, rate, circuit or a probe out), and until when. */
  hold: { reason: NonNullable<LaneRow['hold_reason']>; until: number } | null;
  pending: number;
  /** Pending deliveries under a live lease: being sent right now. */
  inFlight: number;
}

/** An integration's `LaneHealth` at `now`; a lane never used reads as a fresh one. */
export async function laneHealth(
  db: Kysely<Database>,
  integrationId: string,
  now: number,
): Promise<LaneHealth> {
  const [lane, pending, leased] = await Promise.all([
    readLane(db, integrationId, false),
    db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('integration_id', '=', integrationId)
      .where(sql<boolean>`status = 'pending'`)
      .executeTakeFirstOrThrow(),
    countLeased(db, [integrationId], now),
  ]);
  // A lane never used reads as a fresh one.
  const state: Pick<LaneRow, keyof typeof FRESH_LANE> = lane ?? FRESH_LANE;
  const coolingDown = state.circuit === 'open' && Number(state.circuit_until) > now;
  const held = state.hold_reason !== null && Number(state.hold_until) > now;
  return {
    circuit: state.circuit === 'open' && !coolingDown ? 'half-open' : state.circuit,
    probeAt: coolingDown ? Number(state.circuit_until) : null,
    consecutiveFailures: Number(state.consecutive_failures),
    failingSince: state.failing_since === null ? null : Number(state.failing_since),
    hold: held ? { reason: state.hold_reason!, until: Number(state.hold_until) } : null,
    pending: Number(pending.n),
    inFlight: leased.get(integrationId)?.count ?? 0,
  };
}

/**
 * After a remote answered (`up`): resets the failure streak, closes the circuit and lifts holds
 * that waited on an in-flight delivery. Touches the row only when something changes, so the
 * common success does not write (or lock) the lane.
 */
export async function markLaneUp(
  trx: Kysely<Database>,
  integrationId: string,
  now: number,
): Promise<void> {
  await laneUpdate(trx, integrationId)
    .set({
      consecutive_failures: 0,
      failing_since: null,
      circuit: 'closed',
      circuit_until: 0,
      hold_until: sql<number>`case when hold_reason = 'rate' then hold_until else 0 end`,
      hold_reason: sql<null>`case when hold_reason = 'rate' then hold_reason else null end`,
      updated_at: now,
    })
    .where(
      sql<boolean>`(consecutive_failures > 0 or circuit <> 'closed' or hold_reason in ('concurrency', 'probe', 'circuit'))`,
    )
    .execute();
}

/**
 * After an attempt that never reached the remote: frees a concurrency hold, and a half-open
 * circuit may probe again at once (the probe proved nothing). Which delivery was the probe is
 * not recorded: a probe hold is lifted only when nothing else of the lane is out, so a delivery
 * claimed before the circuit opened cannot let a second probe go while the first is out (that
 * one's hold then ends with its lease).
 */
export async function markLaneUntouched(
  trx: Kysely<Database>,
  integrationId: string,
  now: number,
): Promise<void> {
  const nothingOut = sql<boolean>`not exists (
    select 1 from deliveries
    where integration_id = ${integrationId} and status = 'pending'
      and lease_owner is not null and lease_until > ${now})`;
  await laneUpdate(trx, integrationId)
    .set({
      hold_until: 0,
      hold_reason: null,
      circuit_until: sql<number>`case when circuit = 'half-open' then 0 else circuit_until end`,
      updated_at: now,
    })
    .where((eb) =>
      eb.or([
        eb('hold_reason', '=', 'concurrency'),
        eb.and([eb('hold_reason', '=', 'probe'), nothingOut]),
      ]),
    )
    .execute();
}

/**
 * After an edit of the integration (in its transaction): lifts a hold that its old limits put on
 * its lane (`rate`, `concurrency`), so new limits apply at the next claim, which reads them and
 * holds the lane again if they still say so. A circuit's holds stay.
 */
export async function liftLimitHolds(
  trx: Kysely<Database>,
  integrationId: string,
  now: number,
): Promise<void> {
  await laneUpdate(trx, integrationId)
    .set({ hold_until: 0, hold_reason: null, updated_at: now })
    .where('hold_reason', 'in', ['rate', 'concurrency'])
    .execute();
}

/** A lane's health as new: no failure streak, circuit closed, no hold. */
export const FRESH_LANE = {
  consecutive_failures: 0,
  failing_since: null,
  circuit: 'closed',
  circuit_until: 0,
  hold_until: 0,
  hold_reason: null,
} as const satisfies LanePatch;

/** A lane as new (an integration enabled again). */
export async function resetLane(
  trx: Kysely<Database>,
  integrationId: string,
  now: number,
): Promise<void> {
  await updateLane(trx, integrationId, { ...FRESH_LANE, updated_at: now });
}

/** Whether an integration is enabled (false when disabled, deleted or missing). */
export async function isEnabled(trx: Kysely<Database>, integrationId: string): Promise<boolean> {
  const row = await trx
    .selectFrom('integrations')
    .select('enabled')
    .where('id', '=', integrationId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row?.enabled === 1;
}

/** Turns an integration off with the reason shown to its owner; its deliveries wait. */
export async function disableIntegration(
  trx: Kysely<Database>,
  integrationId: string,
  reason: string,
  now: number,
): Promise<void> {
  await trx
    .updateTable('integrations')
    .set({ enabled: 0, disabled_reason: reason, updated_at: now })
    .where('id', '=', integrationId)
    .execute();
}
