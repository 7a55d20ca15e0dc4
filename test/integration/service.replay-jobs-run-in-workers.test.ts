/**
 * A replay asked of the API runs in a worker process: an API-only process (`serve --api`) stores
 * the job and leaves it; a process with a worker (here the embedded default) runs it.
 */
import { afterEach, expect, it } from 'vitest';
import type { RunningService } from '../../src/main.js';
import { AccountStore } from '../../src/store/account-store.js';
import { enqueueDeliveries } from '../../src/store/delivery-store.js';
import { seedIntegration } from '../queue/queue-fixtures.js';
import { serviceHarness } from './service-harness.js';

const harness = serviceHarness('callhook-replay-');
afterEach(() => harness.release());

it('leaves a replay job to a worker process: the API-only one does not run it', async () => {
  const { config, seeded } = await harness.seeded(async ({ store, adminId }) => {
    const { key } = await new AccountStore(store).credentials.createApiKey(adminId, 'k');
    // Loopback, which the network policy refuses: nothing leaves the machine once requeued.
    const integrationId = await seedIntegration(store, adminId);
    await enqueueDeliveries(
      store.db,
      ['d1', 'd2', 'd3'].map((id) => ({ id, ownerId: adminId, integrationId })),
    );
    await store.db.updateTable('deliveries').set({ status: 'failed', attempts: 1 }).execute();
    return { authorization: `Bearer ${key}`, integrationId };
  });
  const { authorization, integrationId } = seeded;
  let service: RunningService;
  const call = async (url: string, method = 'GET', body?: unknown) => {
    const response = await fetch(`${service.url!}${url}`, {
      method,
      headers: { authorization, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  service = await harness.start(config, { api: true, worker: false });
  const asked = await call(`/api/v1/integrations/${integrationId}/replay`, 'POST', {
    since: '2020-01-01T00:00:00Z',
  });
  expect(asked.status).toBe(202);
  expect(asked.body).toMatchObject({ status: 'running', total: 3, requeued: 0 });
  const jobUrl = `/api/v1/integrations/${integrationId}/replay/${String(asked.body['id'])}`;
  // Longer than a runner's poll: a runner in this process would have taken it by now.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect((await call(jobUrl)).body).toMatchObject({ status: 'running', requeued: 0 });
  await service.close();

  service = await harness.start(config);
  let job = (await call(jobUrl)).body;
  for (let i = 0; i < 50 && job['status'] === 'running'; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    job = (await call(jobUrl)).body;
  }
  expect(job).toMatchObject({ status: 'succeeded', total: 3, requeued: 3 });
});
