/**
 * Per-call ordering look-ups: the lane key (`integration_id || ' ' || ordering_key`) that the
 * `deliveries_ordering` index is built on, and the first pending delivery of many keys at once.
 * Used by enqueue, completion and the claim (docs/delivery.md, "Per-call ordering").
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import { isPostgres } from './bulk-insert.js';

/** Keys per look-up statement (well under both backends' parameter limits). */
const KEYS_PER_STATEMENT = 500;

/**
 * A delivery's lane key, `integration_id || ' ' || ordering_key`: the expression the
 * `deliveries_ordering` index is built on (migration 0003), so every per-call ordering look-up
 * compares it rather than the two columns. `alias`: the table's alias in the statement.
 */
export function laneKeyOf(alias?: string) {
  const column = (name: string) => sql.ref(alias === undefined ? name : `${alias}.${name}`);
  return sql<string>`(${column('integration_id')} || ' ' || ${column('ordering_key')})`;
}

/**
 * `exists` an earlier delivery (by sequence, then id) of the same integration and ordering key
 * still pending or in flight than the delivery aliased `later`: one probe of
 * `deliveries_ordering`. The claim (SQLite) and the sweep of parked deliveries ask it.
 */
export function earlierPendingOfKey(later: string) {
  const of = (name: string) => sql.ref(`${later}.${name}`);
  return sql<boolean>`exists (
      select 1 from deliveries earlier
      where ${laneKeyOf('earlier')} = ${laneKeyOf(later)}
        and earlier.ordering_key is not null
        and earlier.status = 'pending'
        and earlier.sequence <= ${of('sequence')}
        and (earlier.sequence < ${of('sequence')} or earlier.id < ${of('id')}))`;
}

/**
 * `exists` another delivery of the same integration and ordering key than the delivery aliased
 * `of` under a live lease at `now`, whatever its sequence and status (pending, or cancelled while
 * its request is out): its request may still be out, so that one waits. An earlier one is there
 * for its turn; a later one when `of` was retried or replayed after failing. A probe of
 * `deliveries_leased` (rows under a lease).
 */
export function otherInFlightOfKey(of: string, now: number) {
  const ref = (name: string) => sql.ref(`${of}.${name}`);
  return sql<boolean>`exists (
      select 1 from deliveries busy
      where busy.integration_id = ${ref('integration_id')}
        and busy.lease_owner is not null
        and busy.lease_until > ${now}
        and busy.ordering_key = ${ref('ordering_key')}
        and busy.id <> ${ref('id')})`;
}

/**
 * These integrations' deliveries under a live lease at `now`, whatever their status, read through
 * `deliveries_leased` (its predicate spelt literally, so SQLite matches the partial index).
 */
export function leasedRows(trx: Kysely<Database>, integrationIds: readonly string[], now: number) {
  return trx
    .selectFrom('deliveries')
    .where(sql<boolean>`lease_owner is not null`)
    .where('integration_id', 'in', [...integrationIds])
    .where('lease_until', '>', now);
}

/**
 * The lane keys of these integrations' deliveries under a live lease at `now`, whatever their
 * status (pending, or cancelled while the request is out) and sequence: a delivery stored for
 * one of these calls waits. Few rows: read through `deliveries_leased`.
 */
export async function inFlightKeysOfLanes(
  trx: Kysely<Database>,
  integrationIds: readonly string[],
  now: number,
): Promise<Set<string>> {
  const found = new Set<string>();
  if (integrationIds.length === 0) return found;
  const rows = await leasedRows(trx, [...new Set(integrationIds)], now)
    .select(['integration_id', 'ordering_key'])
    .where('ordering_key', 'is not', null)
    .execute();
  for (const row of rows) found.add(laneKey(row.integration_id, row.ordering_key!));
  return found;
}

/** The lane key of an integration and ordering key, as `laneKeyOf` computes it in SQL. */
export const laneKey = (integrationId: string, orderingKey: string) =>
  `${integrationId} ${orderingKey}`;

/**
 * The first pending delivery (by sequence, then id) of each of these lane keys that has one.
 *
 * PostgreSQL: one probe of `deliveries_ordering` per key (a lateral subquery over the array of
 * keys). Asked as one `in (…)` list, its planner costs hundreds of probes above a scan of every
 * pending row (it has no statistics on the expression, and those of a queue table are stale), and
 * scans them all. SQLite takes the `in (…)` list key by key through the index.
 */
export async function firstPendingOfKeys(
  trx: Kysely<Database>,
  keys: readonly string[],
): Promise<Map<string, { id: string; sequence: number }>> {
  const found = new Map<string, { id: string; sequence: number }>();
  const unique = [...new Set(keys)];
  const postgres = isPostgres(trx);
  for (let i = 0; i < unique.length; i += KEYS_PER_STATEMENT) {
    const statement = firstPendingQuery(postgres, unique.slice(i, i + KEYS_PER_STATEMENT));
    for (const row of (await statement.execute(trx)).rows)
      found.set(row.lane_key, { id: row.id, sequence: Number(row.sequence) });
  }
  return found;
}

/** The statement of `firstPendingOfKeys` for one chunk of keys (exported for EXPLAIN). */
export function firstPendingQuery(postgres: boolean, keys: readonly string[]) {
  type Row = { lane_key: string; id: string; sequence: number };
  return postgres
    ? sql<Row>`
        select k.lane_key, f.id, f.sequence
        from unnest(${keys}::text[]) as k(lane_key)
        cross join lateral (
          select d.id, d.sequence from deliveries d
          where ${laneKeyOf('d')} = k.lane_key
            and d.status = 'pending' and d.ordering_key is not null
          order by d.sequence, d.id
          limit 1) f`
    : sql<Row>`
        select lane_key, id, sequence from (
          select ${laneKeyOf()} as lane_key, id, sequence,
            row_number() over (partition by ${laneKeyOf()} order by sequence, id) as n
          from deliveries
          where status = 'pending' and ordering_key is not null
            and ${laneKeyOf()} in (${sql.join(keys)}))
        where n = 1`;
}
