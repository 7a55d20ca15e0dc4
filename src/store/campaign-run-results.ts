/** The rows of a run's per-contact results (`CampaignRunStore.results`, docs/campaigns.md). */
import type { Kysely, Selectable } from 'kysely';
import type { ContactsTable, Database, DeliveriesTable } from './schema.js';
import { CAMPAIGN_KIND } from './campaign-run-moves.js';
import { isoTime } from '../domain/accounts.js';
import { contactStatus, type CampaignState } from '../domain/campaign.js';
import { CHUNK } from './delivery-store.js';

/** One contact of a run and what became of it. */
export interface ContactResult {
  contactId: string;
  phone: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  status: 'pending' | 'succeeded' | 'failed' | 'cancelled';
  /** Attempts made so far (0: not sent yet). */
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  deliveryId: string | null;
  completedAt: string | null;
}

/** What a result shows of a contact's delivery. */
type ResultDelivery = Pick<
  Selectable<DeliveriesTable>,
  'id' | 'contact_id' | 'status' | 'attempts' | 'last_status' | 'last_error' | 'completed_at'
>;

/** A run's deliveries of these contacts, by contact id (`deliveries_campaign_contact`). */
export async function deliveriesOf(
  db: Kysely<Database>,
  campaignId: string,
  contactIds: readonly string[],
): Promise<Map<string, ResultDelivery>> {
  const found = new Map<string, ResultDelivery>();
  for (let i = 0; i < contactIds.length; i += CHUNK) {
    const rows = await db
      .selectFrom('deliveries')
      .select([
        'id',
        'contact_id',
        'status',
        'attempts',
        'last_status',
        'last_error',
        'completed_at',
      ])
      .where(CAMPAIGN_KIND)
      .where('campaign_id', '=', campaignId)
      .where('contact_id', 'in', contactIds.slice(i, i + CHUNK))
      .execute();
    for (const row of rows) found.set(row.contact_id!, row);
  }
  return found;
}

export function toResult(
  contact: Pick<
    Selectable<ContactsTable>,
    'external_id' | 'phone' | 'first_name' | 'last_name' | 'email'
  >,
  delivery: ResultDelivery | undefined,
  state: CampaignState,
): ContactResult {
  return {
    contactId: contact.external_id!,
    phone: contact.phone,
    firstName: contact.first_name,
    lastName: contact.last_name,
    email: contact.email,
    status: contactStatus(delivery?.status ?? null, state),
    attempts: delivery?.attempts ?? 0,
    lastStatus: delivery?.last_status ?? null,
    lastError: delivery?.last_error ?? null,
    deliveryId: delivery?.id ?? null,
    completedAt: isoTime(
      delivery?.completed_at === null || delivery === undefined
        ? null
        : Number(delivery.completed_at),
    ),
  };
}
