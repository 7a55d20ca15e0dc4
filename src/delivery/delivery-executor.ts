/**
 * The worker's `execute`: for an event delivery the stored event, for a delivery of an
 * integration campaign the contact of its list, with the campaign and the integration's current
 * version (so fixing a wrong URL and replaying works), rendered and sent by the
 * IntegrationRunner. Integration and campaign rows are cached for a moment, since a burst of
 * deliveries reads the same few; the events, and the contacts, of a claimed batch are read in one
 * query.
 */
import type { Execute, ExecuteResult } from './worker.js';
import type { ClaimedDelivery } from '../store/delivery-store.js';
import type { RenderScope } from '../template/scope.js';
import type { IntegrationRunner } from './integration-runner.js';
import type { IntegrationStore } from '../store/integration-store.js';
import type { EventStore } from '../store/event-store.js';
import type { CampaignStore } from '../store/campaign-store.js';
import type { Integration } from '../domain/integration.js';
import type { Campaign } from '../domain/campaign.js';
import { campaignContactScope, eventScope } from '../template/scope.js';
import type { ContactKey, ContactStore } from '../store/contact-store.js';
import type { Contact } from '../domain/contact.js';
import DataLoader from 'dataloader';
import type { CallEvent } from '../domain/call-event.js';
import { ShortCache } from './short-cache.js';

export interface DeliveryExecutorDeps {
  integrations: IntegrationStore;
  events: EventStore;
  campaigns: CampaignStore;
  contacts: Pick<ContactStore, 'findContacts'>;
  runner: IntegrationRunner;
  /** How long an integration or campaign row is reused (default 1 s). */
  cacheMs?: number;
  clock?: () => number;
}

function notSent(reason: string): ExecuteResult {
  return { outcome: { kind: 'render-error', reason }, integrationVersion: 0, request: null };
}

export function createDeliveryExecutor(deps: DeliveryExecutorDeps): Execute {
  const clock = deps.clock ?? Date.now;
  const integrations = new ShortCache<Integration | undefined>(deps.cacheMs ?? 1000, clock);
  const campaigns = new ShortCache<Campaign | undefined>(deps.cacheMs ?? 1000, clock);
  // A worker starts a claimed batch in one tick: their events are read in one query, not one each.
  const events = new DataLoader<{ ownerId: string; id: string }, CallEvent | undefined, string>(
    (keys) => deps.events.findMany(keys),
    { cache: false, maxBatchSize: 400 },
  );
  const contacts = new DataLoader<ContactKey, Contact | undefined, string>(
    (keys) => deps.contacts.findContacts(keys),
    { cache: false, maxBatchSize: 400, cacheKeyFn: (key) => `${key.listId}\u0000${key.id}` },
  );
  const campaignOf = (campaignId: string) =>
    campaigns.get(campaignId, () => deps.campaigns.find(campaignId, undefined));

  /** What a delivery renders: its event, or its campaign's contact. */
  const scopeOf = async (
    delivery: ClaimedDelivery,
    integration: Integration,
  ): Promise<RenderScope | string> => {
    if (delivery.kind === 'campaign') {
      const campaign =
        delivery.campaignId === null ? undefined : await campaignOf(delivery.campaignId);
      if (campaign === undefined) return 'its campaign was deleted';
      if (campaign.contactListId === null || delivery.contactId === null)
        return `campaign ${campaign.id} has no contact list`;
      const contact = await contacts.load({
        listId: campaign.contactListId,
        id: delivery.contactId,
      });
      if (contact === undefined)
        return `contact ${delivery.contactId} is no longer in list ${campaign.contactListId}`;
      return campaignContactScope({ contact: { ...contact }, campaign, integration, now: clock() });
    }
    if (delivery.eventId === null) return `a ${delivery.kind} delivery has no event to render`;
    const event = await events.load({ ownerId: delivery.ownerId, id: delivery.eventId });
    if (event === undefined) return `event ${delivery.eventId} is no longer stored`;
    const campaign =
      delivery.campaignId === null ? undefined : await campaignOf(delivery.campaignId);
    return eventScope({
      event,
      integration,
      now: clock(),
      ...(campaign === undefined ? {} : { campaign }),
    });
  };

  return async (delivery, signal) => {
    // The claim read the integration's version: a row cached before an edit the claim saw is
    // read again, so an edit (a fixed URL) applies from the first claim after it.
    const integration = await integrations.getFresh(
      delivery.integrationId,
      () => deps.integrations.find(delivery.integrationId, undefined),
      (row) => row !== undefined && row.version < delivery.integrationVersion,
    );
    if (integration === undefined) return notSent('the integration was deleted');
    const scope = await scopeOf(delivery, integration);
    if (typeof scope === 'string') return notSent(scope);
    const result = await deps.runner.run(integration, scope, { deliveryId: delivery.id, signal });
    return {
      outcome: result.outcome,
      integrationVersion: result.version,
      request: result.request,
      response: result.response,
      options: integration.options,
      integrationType: integration.type,
    };
  };
}
