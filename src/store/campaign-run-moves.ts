/**
 * The writes of an integration campaign's run, each inside the caller's transaction with the
 * campaign row locked (`CampaignRunStore` in campaign-run-store.ts): a state move and what it
 * needs, the checks before a start or resume, and taking back what was scheduled ahead (the
 * hand-over of the next contacts at the run's rate: campaign-run-pump.ts).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { CampaignRow } from './campaign-store.js';
import { cancelledAt } from './delivery-actions.js';
import type { CampaignState } from '../domain/campaign.js';
import { CHUNK } from './delivery-store.js';

/** A refusal the API answers `409 CONFLICT` with. */
export interface Refusal {
  kind: 'refused';
  message: string;
  details?: { field: string; message: string }[];
}

/** Only deliveries of campaign runs (the partial indexes' predicate, spelt for SQLite to match). */
export const CAMPAIGN_KIND = sql<boolean>`kind = 'campaign'`;

/** A refusal with its message and, when a field is to blame, which. */
export function refused(message: string, details?: { field: string; message: string }[]): Refusal {
  return details === undefined
    ? { kind: 'refused', message }
    : { kind: 'refused', message, details };
}

/**
 * Whether a campaign can start: why not (a setting missing, an empty list, its integration off),
 * or the size of its contact list, which the start takes (`moveTo`).
 */
export async function startCheck(
  trx: Kysely<Database>,
  row: CampaignRow,
): Promise<Refusal | { kind: 'ready'; listSize: number }> {
  const missing = (
    [
      ['contactListId', row.contact_list_id],
      ['integrationId', row.integration_id],
      ['ratePerSecond', row.rate_per_second],
    ] as const
  )
    .filter(([, value]) => value === null)
    .map(([field]) => ({ field, message: 'is not set' }));
  if (missing.length > 0) {
    return refused(
      `Campaign ${row.id} cannot start: set its ${missing.map((m) => m.field).join(', ')} first`,
      missing,
    );
  }
  const list = await trx
    .selectFrom('contact_lists')
    .select('size')
    .where('id', '=', row.contact_list_id!)
    .executeTakeFirst();
  if (list === undefined || list.size === 0) {
    return refused(
      `Campaign ${row.id} cannot start: its contact list ${row.contact_list_id} has no contacts`,
      [{ field: 'contactListId', message: 'names a list without contacts' }],
    );
  }
  return (await integrationProblem(trx, row, 'start')) ?? { kind: 'ready', listSize: list.size };
}

/** Where a campaign's integration stands: a run sends only while it is `enabled`. */
export async function integrationState(
  db: Kysely<Database>,
  integrationId: string,
): Promise<'deleted' | 'disabled' | 'enabled'> {
  const integration = await db
    .selectFrom('integrations')
    .select(['enabled', 'deleted_at'])
    .where('id', '=', integrationId)
    .executeTakeFirst();
  if (integration === undefined || integration.deleted_at !== null) return 'deleted';
  return integration.enabled === 1 ? 'enabled' : 'disabled';
}

/**
 * Why a campaign cannot start or resume because of its integration (deleted, disabled), or
 * undefined: a run that went on would send nothing, and wait without saying why.
 */
export async function integrationProblem(
  trx: Kysely<Database>,
  row: CampaignRow,
  action: 'start' | 'resume',
): Promise<Refusal | undefined> {
  switch (await integrationState(trx, row.integration_id!)) {
    case 'deleted':
      return refused(
        `Campaign ${row.id} cannot ${action}: its integration ${row.integration_id} was deleted`,
        [{ field: 'integrationId', message: 'names a deleted integration' }],
      );
    case 'disabled':
      return refused(
        `Campaign ${row.id} cannot ${action}: its integration ${row.integration_id} is disabled; enable it first`,
        [{ field: 'integrationId', message: 'names a disabled integration' }],
      );
    case 'enabled':
      return undefined;
  }
}

/** Why a run whose integration was deleted stopped. */
export const integrationDeleted = (integrationId: string | null) =>
  `integration ${integrationId} was deleted`;

/** The columns of a run that ends, stopped (`stopReason` says why) or completed. */
export function endedColumns(
  to: 'stopped' | 'completed',
  now: number,
  stopReason: string | null,
): Partial<CampaignRow> {
  return { state: to, updated_at: now, finished_at: now, stop_reason: stopReason };
}

/**
 * Moves a locked campaign to `to`, with what that state needs, in one write of its row: a start
 * takes the list's contacts as they are now (`listSize`, from `startCheck`); a pause takes back
 * what was scheduled ahead and not yet sent; a stop cancels the run's pending deliveries (one in
 * flight keeps its lease until it comes back, as `cancelDelivery` does). Answers the columns it
 * wrote.
 */
export async function moveTo(
  trx: Kysely<Database>,
  row: CampaignRow,
  to: CampaignState,
  now: number,
  how: { listSize?: number; stopReason?: string; also?: Partial<CampaignRow> } = {},
): Promise<Partial<CampaignRow>> {
  let set: Partial<CampaignRow> = { ...how.also, state: to, updated_at: now };
  if (to === 'running' && row.state === 'idle') {
    if (how.listSize === undefined)
      throw new Error(`campaign ${row.id} started without its list's size`);
    set = {
      ...set,
      total: how.listSize,
      end_position: how.listSize,
      next_position: 0,
      next_send_at: now,
      started_at: now,
    };
  }
  if (to === 'stopped' || to === 'completed') set = endedColumns(to, now, how.stopReason ?? null);
  if (to === 'paused') set = { ...set, ...(await rewindUnsent(trx, row)) };
  await trx.updateTable('campaigns').set(set).where('id', '=', row.id).execute();
  if (to === 'stopped') await cancelPending(trx, row.id, now);
  return set;
}

/** Cancels a run's pending deliveries; one in flight keeps its lease (`cancelDelivery`). */
async function cancelPending(
  trx: Kysely<Database>,
  campaignId: string,
  now: number,
): Promise<void> {
  await trx
    .updateTable('deliveries')
    .set(cancelledAt(now))
    .where(CAMPAIGN_KIND)
    .where('campaign_id', '=', campaignId)
    .where('status', '=', 'pending')
    .execute();
}

/**
 * Inside a campaign's delete: its contact deliveries still pending (a retry asked after the run
 * ended) are cancelled, and all of them leave the campaign (`campaign_id` null, kept as history).
 * A campaign created later with the same id starts from nothing: these would count in its
 * progress, and hold its contacts' places in `deliveries_campaign_contact`.
 */
export async function detachDeliveries(
  trx: Kysely<Database>,
  campaignId: string,
  now: number,
): Promise<void> {
  await cancelPending(trx, campaignId, now);
  await trx
    .updateTable('deliveries')
    .set({ campaign_id: null })
    .where(CAMPAIGN_KIND)
    .where('campaign_id', '=', campaignId)
    .execute();
}

/**
 * Takes back a run's deliveries that are scheduled and not yet sent (never claimed): the run's
 * position goes back to the first of their contacts, and its next slot to the first of theirs, so
 * the pump hands them over again when the run goes on, at its rate then. A paused run so sends
 * nothing more, and a new rate applies at once. Answers the columns for the caller to write to the
 * campaign row (its one write: `moveTo`, `configure`).
 */
export async function rewindUnsent(
  trx: Kysely<Database>,
  row: CampaignRow,
): Promise<Partial<CampaignRow>> {
  const taken = await trx
    .deleteFrom('deliveries')
    .where(CAMPAIGN_KIND)
    .where('campaign_id', '=', row.id)
    .where('status', '=', 'pending')
    .where('attempts', '=', 0)
    .where('lease_owner', 'is', null)
    // Never claimed: one given back unsent at a worker's stop may have reached the remote as its
    // request was cut; it keeps its id (its Idempotency-Key) and goes again as it is.
    .whereRef('updated_at', '=', 'created_at')
    .returning(['contact_id', 'next_attempt_at'])
    .execute();
  if (taken.length === 0) return {};
  let first = Number(row.next_position);
  const ids = taken.map((t) => t.contact_id!);
  for (let i = 0; i < ids.length; i += CHUNK) {
    const found = await trx
      .selectFrom('contacts')
      .select((eb) => eb.fn.min<number | string>('position').as('first'))
      .where('list_id', '=', row.contact_list_id!)
      .where('external_id', 'in', ids.slice(i, i + CHUNK))
      .executeTakeFirst();
    if (found?.first !== null && found?.first !== undefined)
      first = Math.min(first, Number(found.first));
  }
  return {
    next_position: first,
    next_send_at: Math.min(...taken.map((t) => Number(t.next_attempt_at))),
  };
}

/**
 * After a rate change, the run's next slot follows the last contact sent by the new interval
 * rather than the old: at one every 50 s, the next slot may be 50 s off, and a faster rate is
 * meant to apply at once. (The slot is the last one's plus the old interval, whether the pump
 * moved it or `rewindUnsent` set it back.) Before the first contact went, the first slot stays.
 * Answers the column for the caller to write.
 */
export function respace(row: CampaignRow, oldRate: number): Partial<CampaignRow> {
  if (Number(row.next_position) === 0) return {};
  return {
    next_send_at: Number(row.next_send_at) - 1000 / oldRate + 1000 / Number(row.rate_per_second),
  };
}
