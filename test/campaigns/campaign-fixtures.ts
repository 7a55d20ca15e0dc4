/**
 * An integration campaign rig in one process: an app over a real store, a user with the
 * integration, campaign and contact permissions, a local receiver recording each request with
 * its time, an HTTP integration pointing at it, and the delivery worker and campaign runner of a
 * worker process, started on demand.
 */
import type { ServerResponse } from 'node:http';
import { expect } from 'vitest';
import type { Response as LightMyRequestResponse } from 'light-my-request';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { startServer, type TestServer } from '../transport/servers.js';
import type { Backend } from '../../src/store/db.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { DeliveryWorker } from '../../src/delivery/worker.js';
import { createDeliveryExecutor } from '../../src/delivery/delivery-executor.js';
import { IntegrationStore } from '../../src/store/integration-store.js';
import { EventStore } from '../../src/store/event-store.js';
import { CampaignStore } from '../../src/store/campaign-store.js';
import { ContactStore } from '../../src/store/contact-store.js';
import { CampaignRunner } from '../../src/queue/campaign-runner.js';
import type { CampaignProgress } from '../../src/domain/campaign.js';
import type { LaneSettings } from '../../src/queue/lanes.js';

export interface Received {
  at: number;
  url: string;
  key: string;
  body: string;
}

export interface CampaignView {
  id: string;
  state: string;
  ratePerSecond: number | null;
  stopReason: string | null;
  progress: CampaignProgress;
}

export interface Rig {
  t: TestApp;
  user: TestUser;
  server: TestServer;
  received: Received[];
  integrationId: string;
  /** What the receiver answers (default 200 `ok`). */
  respond: (res: ServerResponse, request: Received) => void;
  call(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    url: string,
    payload?: unknown,
    who?: TestUser,
  ): Promise<LightMyRequestResponse>;
  /** A contact list holding `count` contacts `k-0`, `k-1`, … (phone +1555000<n>). */
  list(count: number, extra?: (index: number) => Record<string, unknown>): Promise<string>;
  /** An integration campaign over `listId` at `rate` per second (not started). */
  campaign(listId: string, rate: number, id?: string): Promise<string>;
  act(id: string, action: 'start' | 'pause' | 'resume' | 'stop'): Promise<CampaignView>;
  read(id: string): Promise<CampaignView>;
  /** Starts this process's delivery worker and campaign runner. */
  startWorkers(options?: { pollMs?: number; lanes?: Partial<LaneSettings> }): void;
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

export async function createCampaignRig(
  backend: Backend,
  options: { integrationOptions?: object; body?: string } = {},
): Promise<Rig> {
  const t = await createTestApp(backend, { env: { CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' } });
  const user = await t.user({ grants: ['integration', 'campaign', 'contact'] });
  const received: Received[] = [];
  const rig = { t, user, received } as unknown as Rig;
  rig.respond = (res) => void res.writeHead(200).end('ok');
  rig.server = await startServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const request = {
        at: Date.now(),
        url: req.url!,
        key: String(req.headers['idempotency-key']),
        body,
      };
      received.push(request);
      rig.respond(res, request);
    });
  });
  rig.call = (method, url, payload, who = user) =>
    t.app.inject({
      method,
      url,
      headers: who.headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const integration = await rig.call('POST', '/api/v1/integrations', {
    name: 'CRM',
    type: 'http',
    config: {
      url: `${rig.server.origin}/contacts?phone={{contact.phone}}`,
      headers: 'Content-Type: application/json',
      body:
        options.body ??
        '{"contact": "{{contact.id}}", "name": "{{contact.firstName}}", "plan": "{{contact.custom.plan}}", "campaign": "{{campaign.name}}"}',
    },
    options: { timeoutMs: 2000, ...options.integrationOptions },
  });
  expect(integration.statusCode, integration.body).toBe(201);
  rig.integrationId = integration.json<{ id: string }>().id;

  rig.list = async (count, extra = () => ({})) => {
    const created = await rig.call('POST', '/api/v1/contact-lists', { name: 'List' });
    expect(created.statusCode, created.body).toBe(201);
    const listId = created.json<{ id: string }>().id;
    for (let from = 0; from < count; from += 10_000) {
      const contacts = Array.from({ length: Math.min(10_000, count - from) }, (_, i) => ({
        id: `k-${from + i}`,
        phone: `+1555${String(from + i).padStart(7, '0')}`,
        ...extra(from + i),
      }));
      const added = await rig.call('POST', `/api/v1/contact-lists/${listId}/contacts`, {
        contacts,
      });
      expect(added.statusCode, added.body).toBe(201);
    }
    return listId;
  };
  rig.campaign = async (listId, rate, id) => {
    const created = await rig.call('POST', '/api/v1/campaigns', {
      ...(id === undefined ? {} : { id }),
      name: 'Spring',
      type: 'integration',
      contactListId: listId,
      integrationId: rig.integrationId,
      ratePerSecond: rate,
    });
    expect(created.statusCode, created.body).toBe(201);
    return created.json<{ id: string }>().id;
  };
  rig.act = async (id, action) => {
    const answer = await rig.call('POST', `/api/v1/campaigns/${id}/${action}`);
    expect(answer.statusCode, answer.body).toBe(200);
    return answer.json<CampaignView>();
  };
  rig.read = async (id) => {
    const answer = await rig.call('GET', `/api/v1/campaigns/${id}`);
    expect(answer.statusCode, answer.body).toBe(200);
    return answer.json<CampaignView>();
  };

  let worker: DeliveryWorker | undefined;
  let runner: CampaignRunner | undefined;
  rig.startWorkers = (workerOptions = {}) => {
    const store = t.store.store;
    const queue = new DeliveryQueue(
      store,
      workerOptions.lanes === undefined ? {} : { lanes: workerOptions.lanes },
    );
    worker = new DeliveryWorker({
      queue,
      ...(workerOptions.pollMs === undefined ? {} : { pollIntervalMs: workerOptions.pollMs }),
      execute: createDeliveryExecutor({
        integrations: new IntegrationStore(store),
        events: new EventStore(store.db, queue.enqueue),
        campaigns: new CampaignStore(store.db),
        contacts: new ContactStore(store),
        runner: t.services.runner,
      }),
    });
    const started = worker;
    runner = new CampaignRunner(store, { onEnqueued: () => started.notify() });
    worker.start();
    runner.start();
  };
  rig.stopWorkers = async () => {
    await Promise.all([runner?.stop(), worker?.stop()]);
    runner = undefined;
    worker = undefined;
  };
  rig.close = async () => {
    await rig.stopWorkers();
    await t.close();
    await rig.server.close();
  };
  return rig;
}

/** Waits until `condition` holds, checking every 25 ms; fails after `ms`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  ms: number,
  what = 'the condition',
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The progress adds up: every contact counted exactly once. */
export function expectAddsUp(progress: CampaignProgress): void {
  expect(
    progress.pending + progress.succeeded + progress.failed + progress.cancelled,
    JSON.stringify(progress),
  ).toBe(progress.total);
}
