/**
 * An IVR invocation is answered once, while the caller waits: neither a retry by id (the API's
 * and the CLI's `deliveries retry`) nor a replay of an integration puts it back in the queue.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { DIALECTS, type TestStore } from '../helpers/store.js';
import type { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { deliveryRow } from '../../src/store/ivr-log-rows.js';
import {
  FakeClock,
  T0,
  delivery,
  enqueue,
  replayAsJob,
  seedQueue,
  statusOf,
} from './queue-fixtures.js';

describe.each(DIALECTS)('retry and replay of IVR invocations on %s', (backend) => {
  let t: TestStore;
  let clock: FakeClock;
  let queue: DeliveryQueue;
  let owner: string;
  let integration: string;

  beforeEach(async () => {
    clock = new FakeClock();
    ({ t, queue, owner, integration } = await seedQueue(backend, { clock: clock.now }));
  });
  afterEach(async () => {
    await t.destroy();
  });

  const failedInvocation = async (): Promise<string> => {
    const id = uuidv7();
    const row = deliveryRow({
      id,
      ownerId: owner,
      integrationId: integration,
      integrationVersion: 1,
      campaignId: null,
      contactId: null,
      startedAt: T0 - 1_000,
      durationMs: 5,
      outcome: 'error',
      status: null,
      reason: 'connection refused',
      request: null,
      response: null,
    });
    await t.store.db.insertInto('deliveries').values(row).execute();
    return id;
  };

  it('leaves a failed IVR invocation failed on a retry by id', async () => {
    const ivr = await failedInvocation();
    expect(await queue.retryNow(ivr)).toBe(false);
    expect(await queue.retryNow(ivr, owner)).toBe(false);
    expect(await statusOf(t.store, ivr)).toMatchObject({ kind: 'ivr', status: 'failed' });
  });

  it('replays and retries the failed deliveries of an integration, never its IVR invocations', async () => {
    const ivr = await failedInvocation();
    const [one, two] = [delivery(owner, integration), delivery(owner, integration)];
    await enqueue(t.store, queue, [one!, two!]);
    await t.store.db.updateTable('deliveries').set({ status: 'failed' }).execute();
    expect(await queue.retryNow(one!.id)).toBe(true);
    expect(
      await replayAsJob(
        t.store,
        { ownerId: owner, integrationId: integration, since: 0 },
        clock.now,
      ),
    ).toBe(1);
    expect((await statusOf(t.store, two!.id)).status).toBe('pending');
    expect((await statusOf(t.store, ivr)).status).toBe('failed');
  });
});
