/**
 * The worker's `execute` for event deliveries: the stored event, the campaign and the
 * integration's current version (so fixing a wrong URL and replaying works) rendered and sent by
 * the IntegrationRunner. Integration and campaign rows are cached for a moment, since a burst of
 * deliveries reads the same few.
 */
import type { Execute, ExecuteResult } from './worker.js';
import type { IntegrationRunner } from './integration-runner.js';
import type { IntegrationStore } from '../store/integration-store.js';
import type { EventStore } from '../store/event-store.js';
import type { CampaignStore } from '../store/campaign-store.js';
import type { Integration } from '../domain/integration.js';
import type { Campaign } from '../domain/campaign.js';
import { eventScope } from '../template/scope.js';
import DataLoader from 'dataloader';
import type { CallEvent } from '../domain/call-event.js';
import { ShortCache } from './short-cache.js';

export interface DeliveryExecutorDeps {
  integrations: IntegrationStore;
  events: EventStore;
  campaigns: CampaignStore;
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
  return async (delivery, signal) => {
    const integration = await integrations.get(delivery.integrationId, () =>
      deps.integrations.find(delivery.integrationId, undefined),
    );
    if (integration === undefined) return notSent('the integration was deleted');
    if (delivery.eventId === null)
      return notSent(`a ${delivery.kind} delivery has no event to render`);
    const event = await events.load({ ownerId: delivery.ownerId, id: delivery.eventId });
    if (event === undefined) return notSent(`event ${delivery.eventId} is no longer stored`);
    const campaign =
      delivery.campaignId === null
        ? undefined
        : await campaigns.get(delivery.campaignId, () =>
            deps.campaigns.find(delivery.campaignId!, undefined),
          );
    const scope = eventScope({
      event,
      integration,
      now: clock(),
      ...(campaign === undefined ? {} : { campaign }),
    });
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
