/**
 * The pump of an integration campaign's run: what it would do now (`nextMove`, read first by the
 * runner so a waiting run takes no write lock), and the hand-over of the next contacts to the queue
 * at the run's rate, inside the caller's transaction with the campaign row locked
 * (`CampaignRunStore.pump`).
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { enqueueDeliveries, type DeliveryInput } from './delivery-store.js';
import type { CampaignRow } from './campaign-store.js';
import { CAMPAIGN_KIND, integrationDeleted, integrationState } from './campaign-run-moves.js';
import { newId } from '../domain/ids.js';

/** At most this many deliveries per pump, whatever the rate (the runner pumps again at once). */
export const MAX_PER_PUMP = 500;

/**
 * How many of the next contacts of a running campaign a pump would hand over now: as many as fit
 * before `now + horizonMs` at its rate and in the room left for unsent ones (0: none), from the
 * slot `first`, one every `interval` ms. Reads only.
 */
async function dueToHandOver(
  db: Kysely<Database>,
  row: CampaignRow,
  now: number,
  horizonMs: number,
): Promise<{ want: number; first: number; interval: number }> {
  const rate = Number(row.rate_per_second);
  const interval = 1000 / rate;
  const first = Math.max(Number(row.next_send_at), now);
  const fit = Math.floor((now + horizonMs - first) / interval) + 1;
  // A run cannot start or go on without a rate (`startCheck`, `configure`).
  if (!(rate > 0) || fit <= 0) return { want: 0, first, interval };
  const unsent = await db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where(CAMPAIGN_KIND)
    .where('campaign_id', '=', row.id)
    .where('status', '=', 'pending')
    .where('attempts', '=', 0)
    .executeTakeFirstOrThrow();
  const room = Math.max(1, Math.ceil((rate * horizonMs) / 1000)) - Number(unsent.n);
  const want = Math.min(
    fit,
    room,
    MAX_PER_PUMP,
    Number(row.end_position) - Number(row.next_position),
  );
  return { want: Math.max(0, want), first, interval };
}

/** Whether a run has a delivery still pending (it has not completed). */
async function hasPending(db: Kysely<Database>, campaignId: string): Promise<boolean> {
  const pending = await db
    .selectFrom('deliveries')
    .select('id')
    .where(CAMPAIGN_KIND)
    .where('campaign_id', '=', campaignId)
    .where('status', '=', 'pending')
    .limit(1)
    .executeTakeFirst();
  return pending !== undefined;
}

/** What a pump of a running campaign does now. */
export type PumpMove =
  | { kind: 'wait' }
  | { kind: 'stop'; reason: string }
  | { kind: 'hand-over'; want: number; first: number; interval: number }
  | { kind: 'complete' };

/**
 * What a pump of this running campaign would do now, read without writing: stop it (its
 * integration was deleted), wait (its integration is disabled; no contact is due, or the room for
 * unsent ones is full; every contact is handed over and some delivery is still pending), hand the
 * next contacts over, or complete it. The runner asks first, outside any transaction, so a waiting
 * run costs reads; the pump asks again with the row locked.
 */
export async function nextMove(
  db: Kysely<Database>,
  row: CampaignRow,
  now: number,
  horizonMs: number,
): Promise<PumpMove> {
  const integration = await integrationState(db, row.integration_id!);
  if (integration === 'deleted')
    return { kind: 'stop', reason: integrationDeleted(row.integration_id) };
  if (integration === 'disabled') return { kind: 'wait' };
  if (Number(row.next_position) < Number(row.end_position)) {
    const due = await dueToHandOver(db, row, now, horizonMs);
    return due.want > 0 ? { kind: 'hand-over', ...due } : { kind: 'wait' };
  }
  return (await hasPending(db, row.id)) ? { kind: 'wait' } : { kind: 'complete' };
}

/**
 * Stores deliveries for the next contacts of a locked running campaign, `due.want` of them from
 * the slot `due.first` (`dueToHandOver`); moves its position and next slot past them. Answers how
 * many.
 */
export async function handOver(
  trx: Kysely<Database>,
  row: CampaignRow,
  now: number,
  due: { want: number; first: number; interval: number },
): Promise<number> {
  const { want, first, interval } = due;
  const contacts = await trx
    .selectFrom('contacts')
    .select(['external_id', 'position'])
    .where('list_id', '=', row.contact_list_id!)
    .where('position', '>=', Number(row.next_position))
    .where('position', '<', Number(row.end_position))
    .orderBy('position')
    .limit(want)
    .execute();
  if (contacts.length === 0) {
    await trx
      .updateTable('campaigns')
      .set({ next_position: Number(row.end_position) })
      .where('id', '=', row.id)
      .execute();
    return 0;
  }
  // After a pause the position went back: contacts past it may have a delivery already. Looked up
  // by id through `deliveries_campaign_contact`, a statement of its own (see `results`).
  const handed = new Set(
    (
      await trx
        .selectFrom('deliveries')
        .select('contact_id')
        .where(CAMPAIGN_KIND)
        .where('campaign_id', '=', row.id)
        .where(
          'contact_id',
          'in',
          contacts.map((c) => c.external_id!),
        )
        .execute()
    ).map((d) => d.contact_id),
  );
  const next = contacts.filter((c) => !handed.has(c.external_id));
  const deliveries: DeliveryInput[] = next.map((contact, index) => ({
    id: newId(),
    ownerId: row.owner_id,
    integrationId: row.integration_id!,
    kind: 'campaign',
    campaignId: row.id,
    contactId: contact.external_id!,
    nextAttemptAt: Math.round(first + index * interval),
  }));
  await enqueueDeliveries(trx, deliveries, now);
  const last = contacts.at(-1);
  const nextPosition =
    contacts.length < want || last === undefined
      ? Number(row.end_position)
      : Number(last.position) + 1;
  await trx
    .updateTable('campaigns')
    .set({ next_position: nextPosition, next_send_at: first + deliveries.length * interval })
    .where('id', '=', row.id)
    .execute();
  return deliveries.length;
}
