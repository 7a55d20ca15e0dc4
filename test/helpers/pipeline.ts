/**
 * The whole path in one process: an app, a dialer account, a local receiver, an HTTP
 * integration pointing at it, campaign `spring` bound to it, and workers to run deliveries.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { expect } from 'vitest';
import type { Response as LightMyRequestResponse } from 'light-my-request';
import { createTestApp, type TestApp, type TestUser } from './app.js';
import { startServer, type TestServer } from '../transport/servers.js';
import type { Backend } from '../../src/store/db.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { DeliveryWorker } from '../../src/delivery/worker.js';
import { createDeliveryExecutor } from '../../src/delivery/delivery-executor.js';
import { IntegrationStore } from '../../src/store/integration-store.js';
import { EventStore } from '../../src/store/event-store.js';
import { CampaignStore } from '../../src/store/campaign-store.js';
import { ContactStore } from '../../src/store/contact-store.js';

export interface ReceivedRequest {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Pipeline {
  t: TestApp;
  dialer: TestUser;
  server: TestServer;
  received: ReceivedRequest[];
  integrationId: string;
  /** What the receiver answers next (default 200 `ok`). */
  respond: (res: ServerResponse, request: ReceivedRequest) => void;
  post(url: string, payload: unknown, who?: TestUser): Promise<LightMyRequestResponse>;
  get(url: string, who?: TestUser): Promise<LightMyRequestResponse>;
  worker(): DeliveryWorker;
  close(): Promise<void>;
}

export function callEvent(id: string, overrides: Record<string, unknown> = {}) {
  return {
    id,
    type: 'call.ended',
    occurredAt: '2026-11-27T10:00:00Z',
    campaignId: 'spring',
    call: { id: `c-${id}`, phone: '+15551234567', status: 'answered', duration: 42 },
    contact: { id: 'k-3', phone: '+15551234567', firstName: 'Ana', custom: { plan: 'gold' } },
    ...overrides,
  };
}

export async function createPipeline(
  backend: Backend,
  options: { binding?: { on: string[]; statuses?: string[] }; integrationOptions?: object } = {},
): Promise<Pipeline> {
  const t = await createTestApp(backend, { env: { CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' } });
  const dialer = await t.user({ grants: ['integration', 'campaign', 'event_ingest'] });
  const received: ReceivedRequest[] = [];
  const pipeline = {
    t,
    dialer,
    received,
    respond: (res: ServerResponse) => void res.writeHead(200).end('ok'),
  } as unknown as Pipeline;
  pipeline.server = await startServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const request = { url: req.url!, headers: req.headers, body };
      received.push(request);
      pipeline.respond(res, request);
    });
  });
  pipeline.post = (url, payload, who = dialer) =>
    t.app.inject({ method: 'POST', url, headers: who.headers, payload: payload as object });
  pipeline.get = (url, who = dialer) => t.app.inject({ url, headers: who.headers });
  const integration = await pipeline.post('/api/v1/integrations', {
    name: 'CRM',
    type: 'http',
    config: {
      url: `${pipeline.server.origin}/calls?phone={{contact.phone}}`,
      headers: 'Content-Type: application/json',
      body: '{"status": "{{call.status}}", "plan": "{{contact.custom.plan}}", "campaign": "{{campaign.name}}"}',
    },
    options: options.integrationOptions ?? {},
  });
  expect(integration.statusCode, integration.body).toBe(201);
  pipeline.integrationId = integration.json<{ id: string }>().id;
  expect(
    (await pipeline.post('/api/v1/campaigns', { id: 'spring', name: 'Spring', type: 'voice' }))
      .statusCode,
  ).toBe(201);
  const bound = await t.app.inject({
    method: 'PUT',
    url: '/api/v1/campaigns/spring/bindings',
    headers: dialer.headers,
    payload: {
      bindings: [
        { integrationId: pipeline.integrationId, ...(options.binding ?? { on: ['call.ended'] }) },
      ],
    },
  });
  expect(bound.statusCode, bound.body).toBe(200);
  pipeline.worker = () => {
    const store = t.store.store;
    const queue = new DeliveryQueue(store);
    return new DeliveryWorker({
      queue,
      metrics: t.services.metrics,
      activity: t.services.activity,
      execute: createDeliveryExecutor({
        integrations: new IntegrationStore(store),
        events: new EventStore(store.db, queue.enqueue),
        campaigns: new CampaignStore(store.db),
        contacts: new ContactStore(store),
        runner: t.services.runner,
      }),
    });
  };
  pipeline.close = async () => {
    await t.close();
    await pipeline.server.close();
  };
  return pipeline;
}
