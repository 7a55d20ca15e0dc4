/**
 * What an operator does to deliveries (the API's cancel, retry and replay, the CLI's
 * `deliveries retry|replay`) and what it leaves for the queue: a delivery cancelled in flight
 * keeps its lease until it comes back. Portable SQL, as in delivery-store.ts.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import { laneOrder, noteDue } from './lane-store.js';
import { isPostgres } from './bulk-insert.js';
import { BLOCKED_AT, CHUNK, PENDING, releaseSuccessor, type LeaseGuard } from './delivery-store.js';
import { earlierPendingOfKey, leasedRows, otherInFlightOfKey } from './lane-keys.js';

/**
 * The columns of a pending delivery being cancelled at `now`: one whose request is out keeps its
 * lease (its concurrency slot, and the turn of its call) until it ends or the lease runs out.
 */
export function cancelledAt(now: number) {
  const inFlight = sql<boolean>`(lease_owner is not null and lease_until > ${now})`;
  return {
    status: 'cancelled' as const,
    lease_owner: sql<string | null>`case when ${inFlight} then lease_owner else null end`,
    lease_until: sql<number | null>`case when ${inFlight} then lease_until else null end`,
    updated_at: now,
    completed_at: now,
  };
}

/**
 * Cancels a pending delivery. One in flight (under a live lease) keeps its lease: its request is
 * still out, so it keeps its integration's concurrency slot and the next delivery of its call
 * waits, until its late completion (`endCancelledLease`, which does not move it out of
 * `cancelled`) or the end of the lease (then the sweep of parked deliveries releases that one).
 * One that is not in flight releases the next delivery of its call, unless another of its call
 * is (one cancelled in flight before it): that one's end releases the next.
 */
export async function cancelDelivery(
  trx: Kysely<Database>,
  id: string,
  ownerId: string | undefined,
  now: number,
): Promise<boolean> {
  let query = trx
    .updateTable('deliveries')
    .set(cancelledAt(now))
    .where('id', '=', id)
    .where(PENDING)
    .returning(['integration_id', 'ordering_key', 'lease_owner']);
  if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
  const row = await query.executeTakeFirst();
  if (row === undefined) return false;
  if (
    row.lease_owner === null &&
    !(await keyInFlight(trx, row.integration_id, row.ordering_key, now)) &&
    (await releaseSuccessor(trx, row.integration_id, row.ordering_key, now))
  )
    await noteDue(trx, new Map([[row.integration_id, now]]), now);
  return true;
}

/** Whether a delivery of this integration and ordering key is under a live lease at `now`. */
async function keyInFlight(
  trx: Kysely<Database>,
  integrationId: string,
  orderingKey: string | null,
  now: number,
): Promise<boolean> {
  if (orderingKey === null) return false;
  const row = await leasedRows(trx, [integrationId], now)
    .select('id')
    .where('ordering_key', '=', orderingKey)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The late completion (or release) of a delivery cancelled in flight: its lease ends, so it no
 * longer takes a concurrency slot. True when it was that delivery's lease; the caller then
 * releases the next delivery of its call (`releaseSuccessor`). The status stays `cancelled`; a
 * completion's answer (`lastStatus`, `error`) is kept, as its attempt is logged: the request went
 * out, and a campaign's results say what it got.
 */
export async function endCancelledLease(
  trx: Kysely<Database>,
  claim: LeaseGuard,
  now: number,
  answer?: { lastStatus: number | null; error: string | null },
): Promise<boolean> {
  const result = await trx
    .updateTable('deliveries')
    .set({
      lease_owner: null,
      lease_until: null,
      updated_at: now,
      ...(answer && { last_status: answer.lastStatus, last_error: answer.error }),
    })
    .where('id', '=', claim.id)
    .where('status', '=', 'cancelled')
    .where('lease_owner', '=', claim.leaseOwner)
    .where('attempts', '=', claim.attempt)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Moves failed deliveries back to pending with a fresh retry budget, due now: one by id, or those
 * of a list of ids (a replay job's batch, src/store/replay-batch-store.ts). Answers the ids moved.
 * IVR invocations, the deliveries of a deleted integration and those of an event that retention
 * pruned are never moved.
 *
 * A moved delivery takes its place in its call's order again (`parkInCallOrder`): due now when
 * it is the first pending one of its call and nothing of its call is out, parked otherwise.
 */
export async function requeueFailed(
  trx: Kysely<Database>,
  filter: { id: string } | { ids: readonly string[] },
  ownerId: string | undefined,
  now: number,
): Promise<string[]> {
  if ('ids' in filter && filter.ids.length === 0) return [];
  if (isPostgres(trx)) await lockForRequeue(trx, filter, ownerId);
  let query = trx
    .updateTable('deliveries')
    .set((eb) => ({
      status: 'pending',
      next_attempt_at: now,
      attempt_offset: eb.ref('attempts'),
      lease_owner: null,
      lease_until: null,
      updated_at: now,
      completed_at: null,
    }))
    .where('status', '=', 'failed')
    // IVR invocations are answered once, while the caller waits: never retried or replayed.
    .where('kind', '<>', 'ivr')
    // A deleted integration's deliveries are never claimed: pending again, they would wait forever.
    // On PostgreSQL the integration is locked (share) first, so a delete either committed before
    // this statement or cancels what this moves once it commits (`lockForRequeue`).
    .where('integration_id', 'in', (eb) =>
      eb.selectFrom('integrations').select('id').where('deleted_at', 'is', null),
    )
    // An event's delivery renders the stored event: once retention pruned it, nothing to send.
    // On PostgreSQL the event is locked (key share) to the commit, so a prune running now either
    // deleted it first (and the delivery stays failed) or leaves it (`pruneHistory`).
    .where((eb) => {
      const event = eb
        .selectFrom('events')
        .select(sql<number>`1`.as('one'))
        .whereRef('events.owner_id', '=', 'deliveries.owner_id')
        .whereRef('events.id', '=', 'deliveries.event_id');
      return eb.or([
        eb('kind', '<>', 'event'),
        eb('event_id', 'is', null),
        eb.exists(isPostgres(trx) ? event.forKeyShare() : event),
      ]);
    });
  query = 'id' in filter ? query.where('id', '=', filter.id) : query.where('id', 'in', filter.ids);
  if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
  const rows = await query.returning(['id', 'integration_id', 'ordering_key']).execute();
  const parked = await parkInCallOrder(
    trx,
    rows.filter((row) => row.ordering_key !== null),
    now,
  );
  const due = new Map(
    rows.filter((row) => !parked.has(row.id)).map((row) => [row.integration_id, now]),
  );
  await noteDue(trx, due, now);
  return rows.map((row) => row.id);
}

/**
 * PostgreSQL, before `requeueFailed` moves anything: locks the failed deliveries it may move, then
 * their integrations' lanes in lane order, then the integrations themselves (share), the order
 * every writer takes them in (docs/delivery.md, "Lanes, limits and isolation").
 *
 * The lanes: a claim of a lane that is leasing a later delivery of a call has committed by then,
 * so `parkInCallOrder` sees that lease; one that starts later sees the moved delivery pending,
 * first of its call, once this commits.
 *
 * The integrations: a delete (`IntegrationStore.delete`) cancels the integration's pending
 * deliveries, then writes its row, then cancels again. Holding the row in share mode, a retry
 * either sees a delete that wrote it first as committed (and moves nothing), or makes the
 * delete's write wait for its commit, and the delete's second cancel then finds what it moved.
 * Without the lock, a retry or a replay batch committing beside a delete left pending deliveries
 * of a deleted integration, which nothing would ever send or end.
 */
async function lockForRequeue(
  trx: Kysely<Database>,
  filter: { id: string } | { ids: readonly string[] },
  ownerId: string | undefined,
): Promise<void> {
  let candidates = trx
    .selectFrom('deliveries')
    .select('integration_id')
    .where('status', '=', 'failed')
    .where('kind', '<>', 'ivr');
  candidates =
    'id' in filter
      ? candidates.where('id', '=', filter.id)
      : candidates.where('id', 'in', filter.ids);
  if (ownerId !== undefined) candidates = candidates.where('owner_id', '=', ownerId);
  const rows = await candidates.forUpdate().execute();
  const integrations = [...new Set(rows.map((row) => row.integration_id))].sort(laneOrder);
  for (const id of integrations)
    await trx
      .selectFrom('delivery_lanes')
      .select('integration_id')
      .where('integration_id', '=', id)
      .forUpdate()
      .execute();
  for (const id of integrations)
    await trx.selectFrom('integrations').select('id').where('id', '=', id).forShare().execute();
}

/**
 * Parks (`BLOCKED_AT`) those of these deliveries, just made pending again, that must wait for
 * another of their call: one still out (a later one, sent while this one had failed, or one
 * cancelled in flight), or an earlier one pending (another of the same replay, or an earlier
 * event that arrived late). The one that ends releases the next (`releaseSuccessor`, or the
 * sweep after a lease). A later one pending but not out waits behind the moved one instead: the
 * claim sends only the first pending delivery of a call. Answers the ids parked. On PostgreSQL
 * their lanes are locked already (`lockForRequeue`).
 */
async function parkInCallOrder(
  trx: Kysely<Database>,
  moved: readonly { id: string; integration_id: string }[],
  now: number,
): Promise<Set<string>> {
  const parked = new Set<string>();
  if (moved.length === 0) return parked;
  for (let i = 0; i < moved.length; i += CHUNK) {
    const rows = await trx
      .updateTable('deliveries')
      .set({ next_attempt_at: BLOCKED_AT })
      .where(
        'id',
        'in',
        moved.slice(i, i + CHUNK).map((row) => row.id),
      )
      .where(
        sql<boolean>`(${earlierPendingOfKey('deliveries')} or ${otherInFlightOfKey('deliveries', now)})`,
      )
      .returning('id')
      .execute();
    for (const row of rows) parked.add(row.id);
  }
  return parked;
}

/** Whether an event is still stored (retention prunes old ones, `pruneHistory`). */
export async function eventKept(
  db: Kysely<Database>,
  ownerId: string,
  eventId: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('events')
    .select('id')
    .where('owner_id', '=', ownerId)
    .where('id', '=', eventId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Whether an integration is deleted (or gone). */
export async function integrationDeleted(
  db: Kysely<Database>,
  integrationId: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('integrations')
    .select('id')
    .where('id', '=', integrationId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row === undefined;
}
