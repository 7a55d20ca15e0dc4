import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import {
  clockedQueue,
  FakeClock,
  delivery,
  editIntegration,
  enqueue,
  laneOf,
  seedIntegration,
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
    ({ t, clock, queue, owner } = await clockedQueue(backend));
  });
  afterEach(async () => {
    await t.destroy();
  });

  it('raising ratePerSecond lifts the old rate hold', async () => {
    const integration = await seedIntegration(t.store, owner, { ratePerSecond: 0.01 });
    await enqueue(t.store, queue, many(integration, 5));
    expect(await queue.claim('w1', 10)).toHaveLength(1);
    expect((await laneOf(t.store, integration)).hold_reason).toBe('rate');
    await editIntegration(t.store, integration, { options: { ratePerSecond: 100 } }, clock.now);
    clock.advance(1_000);
    // The old hold would have lasted 100 s.
    expect(await queue.claim('w1', 10)).toHaveLength(4);
  });

  it('removing ratePerSecond lifts the old rate hold', async () => {
    const integration = await seedIntegration(t.store, owner, { ratePerSecond: 0.01 });
    await enqueue(t.store, queue, many(integration, 5));
    expect(await queue.claim('w1', 10)).toHaveLength(1);
    await editIntegration(
      t.store,
      integration,
      { options: { ratePerSecond: undefined } },
      clock.now,
    );
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
    await editIntegration(t.store, integration, { options: { maxConcurrency: 5 } }, clock.now);
    clock.advance(1_000);
    expect(await queue.claim('w1', 10)).toHaveLength(4);
  });

  it('an edit that keeps the limits leaves them holding', async () => {
    const integration = await seedIntegration(t.store, owner, { maxConcurrency: 1 });
    await enqueue(t.store, queue, many(integration, 3));
    expect(await queue.claim('w1', 10)).toHaveLength(1);
    await editIntegration(t.store, integration, { options: { timeoutMs: 6_000 } }, clock.now);
    expect(await queue.claim('w1', 10)).toHaveLength(0);
    expect((await laneOf(t.store, integration)).hold_reason).toBe('concurrency');
  });

  it('an unrelated edit keeps the tokens of the bucket', async () => {
    const integration = await seedIntegration(t.store, owner, { ratePerSecond: 2 });
    await enqueue(t.store, queue, many(integration, 20));
    expect(await queue.claim('w1', 1)).toHaveLength(1);
    await editIntegration(t.store, integration, { options: { timeoutMs: 6_000 } }, clock.now);
    // The same instant: one token left of two, not a fresh bucket.
    expect(await queue.claim('w1', 10)).toHaveLength(1);
    clock.advance(500);
    expect(await queue.claim('w1', 10)).toHaveLength(1);
  });

  it('lowering ratePerSecond keeps at most the new bucket size', async () => {
    const integration = await seedIntegration(t.store, owner, { ratePerSecond: 10 });
    await enqueue(t.store, queue, many(integration, 20));
    expect(await queue.claim('w1', 1)).toHaveLength(1);
    await editIntegration(t.store, integration, { options: { ratePerSecond: 2 } }, clock.now);
    expect(await queue.claim('w1', 10)).toHaveLength(2);
    expect(await queue.claim('w1', 10)).toHaveLength(0);
  });

  it('refills at the old rate until the edit, at the new one after', async () => {
    const integration = await seedIntegration(t.store, owner, { ratePerSecond: 1 });
    await enqueue(t.store, queue, many(integration, 20));
    expect(await queue.claim('w1', 10)).toHaveLength(1);
    clock.advance(500);
    await editIntegration(t.store, integration, { options: { ratePerSecond: 4 } }, clock.now);
    clock.advance(250);
    // 0.5 token at 1/s, then 1 token at 4/s.
    expect(await queue.claim('w1', 10)).toHaveLength(1);
  });

  it('a rate set for the first time starts with a full bucket', async () => {
    const integration = await seedIntegration(t.store, owner);
    await enqueue(t.store, queue, many(integration, 20));
    expect(await queue.claim('w1', 2)).toHaveLength(2);
    await editIntegration(t.store, integration, { options: { ratePerSecond: 3 } }, clock.now);
    expect(await queue.claim('w1', 10)).toHaveLength(3);
    expect(await queue.claim('w1', 10)).toHaveLength(0);
  });
});
