/**
 * A replay asked of the API runs in a worker process: an API-only process (`serve --api`) stores
 * the job and leaves it; a process with a worker (here the embedded default) runs it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService, type RunningService } from '../../src/main.js';
import { openStore } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrator.js';
import { AccountStore } from '../../src/store/account-store.js';
import { enqueueDeliveries } from '../../src/store/delivery-store.js';
import { seedIntegration } from '../queue/queue-fixtures.js';

let service: RunningService | undefined;
let dir: string | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

it('leaves a replay job to a worker process: the API-only one does not run it', async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-replay-'));
  const config = loadConfig({ CALLHOOK_DATA_DIR: dir, CALLHOOK_PORT: '0' });
  const store = await openStore(config.database);
  let authorization: string;
  let integrationId: string;
  try {
    await migrate(store);
    const accounts = new AccountStore(store);
    const user = await accounts.createUser({
      email: 'ops@example.com',
      name: 'Ops',
      passwordHash: null,
      admin: true,
    });
    authorization = `Bearer ${(await accounts.credentials.createApiKey(user.id, 'k')).key}`;
    // Loopback, which the network policy refuses: nothing leaves the machine once requeued.
    integrationId = await seedIntegration(store, user.id);
    await enqueueDeliveries(
      store.db,
      ['d1', 'd2', 'd3'].map((id) => ({ id, ownerId: user.id, integrationId })),
    );
    await store.db.updateTable('deliveries').set({ status: 'failed', attempts: 1 }).execute();
  } finally {
    await store.close();
  }
  const call = async (url: string, method = 'GET', body?: unknown) => {
    const response = await fetch(`${service!.url!}${url}`, {
      method,
      headers: { authorization, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  service = await startService(config, createLogger('silent'), undefined, {
    api: true,
    worker: false,
  });
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

  service = await startService(config, createLogger('silent'));
  let job = (await call(jobUrl)).body;
  for (let i = 0; i < 50 && job['status'] === 'running'; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    job = (await call(jobUrl)).body;
  }
  expect(job).toMatchObject({ status: 'succeeded', total: 3, requeued: 3 });
});
