import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import {
  FakeClock,
  delivery,
  editIntegration,
  enqueue,
  laneOf,
  seedIntegration,
  seedOwner,
} from './queue-fixtures.js';

// An edit of an integration's limits applies from the next claim, whatever hold the old limits
// put on its lane.
describe.each(DIALECTS)('editing the limits of an integration on %s', (backend) => {
  let t: TestStore;
  let clock: FakeClock;
  let queue: DeliveryQueue;
  let owner: string;

  const many = (integration: string, n: number) =>
    Array.from({ length: n }, () => delivery(owner, integration));

  beforeEach(async () => {
    t = await createTestStore(backend);
    clock = new FakeClock();
    queue = new DeliveryQueue(t.store, { clock: clock.now });
    owner = await seedOwner(t.store);
  });
  afterEach(async () => {
    await t.destroy();
  });

  it('raising ratePerSecond lifts the old rate hold', async () => {
    const integration = await seedIntegration(t.store, owner, { ratePerSecond: 0.01 });
    await enqueue(t.store, queue, many(integration, 5));
    expect(await queue.claim('w1', 10)).toHaveLength(1);
    expect((await laneOf(t.store, integration)).hold_reason).toBe('rate');
    await editIntegration(t.store, integration, { options: { ratePerSecond: 100 } });
    clock.advance(1_000);
    // The old hold would have lasted 100 s.
    expect(await queue.claim('w1', 10)).toHaveLength(4);
  });

  it('removing ratePerSecond lifts the old rate hold', async () => {
    const integration = await seedIntegration(t.store, owner, { ratePerSecond: 0.01 });
    await enqueue(t.store, queue, many(integration, 5));
    expect(await queue.claim('w1', 10)).toHaveLength(1);
    await editIntegration(t.store, integration, { options: { ratePerSecond: undefined } });
    expect(await queue.claim('w1', 10)).toHaveLength(4);
  });

  it('raising maxConcurrency lifts the old concurrency hold', async () => {
    const integration = await seedIntegration(t.store, owner, {
      maxConcurrency: 1,
      timeoutMs: 60_000,
    });
    await enqueue(t.store, queue, many(integration, 5));
    expect(await queue.claim('w1', 10)).toHaveLength(1);
    expect((await laneOf(t.store, integration)).hold_reason).toBe('concurrency');
    await editIntegration(t.store, integration, { options: { maxConcurrency: 5 } });
    clock.advance(1_000);
    expect(await queue.claim('w1', 10)).toHaveLength(4);
  });

  it('an edit that keeps the limits leaves them holding', async () => {
    const integration = await seedIntegration(t.store, owner, { maxConcurrency: 1 });
    await enqueue(t.store, queue, many(integration, 3));
    expect(await queue.claim('w1', 10)).toHaveLength(1);
    await editIntegration(t.store, integration, { options: { timeoutMs: 6_000 } });
    expect(await queue.claim('w1', 10)).toHaveLength(0);
    expect((await laneOf(t.store, integration)).hold_reason).toBe('concurrency');
  });
});
