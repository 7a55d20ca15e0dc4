import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue, type CompletedAttempt } from '../../src/queue/delivery-queue.js';
import type { ClaimedDelivery } from '../../src/store/delivery-store.js';
import {
  clockedQueue,
  FakeClock,
  delivery,
  enqueue,
  seedIntegration,
  attemptRecord,
} from './queue-fixtures.js';

describe.each(DIALECTS)('per-call ordering on %s', (backend) => {
  let t: TestStore;
  let clock: FakeClock;
  let queue: DeliveryQueue;
  let owner: string;
  let integration: string;

  const finish = (claim: ClaimedDelivery, decision: CompletedAttempt['decision']) =>
    queue.complete(claim, {
      decision,
      health: 'up',
      record: attemptRecord(clock.ms),
      lastStatus: 200,
      error: null,
    });
  const claimKeys = async () =>
    (await queue.claim('w', 50)).map((d) => ({ d, label: `${d.orderingKey}#${d.sequence}` }));

  beforeEach(async () => {
    ({ t, clock, queue, owner } = await clockedQueue(backend));
    integration = await seedIntegration(t.store, owner);
  });
  afterEach(async () => {
    await t.destroy();
  });

  it("sends one call's deliveries in sequence, other calls in parallel", async () => {
    const call1 = (sequence: number) =>
      delivery(owner, integration, { orderingKey: 'call:1', sequence });
    // Stored out of order within the batch: the sequence decides.
    await enqueue(t.store, queue, [
      call1(3),
      call1(1),
      call1(2),
      delivery(owner, integration, { orderingKey: 'call:2', sequence: 1 }),
    ]);
    await enqueue(t.store, queue, [call1(4)]);

    let claimed = await claimKeys();
    expect(claimed.map((c) => c.label).sort()).toEqual(['call:1#1', 'call:2#1']);
    const first = claimed.find((c) => c.label === 'call:1#1')!.d;
    // A retry keeps the later ones waiting.
    await finish(first, { kind: 'retry', at: clock.ms + 5_000, reason: 'HTTP 503' });
    expect(await claimKeys()).toEqual([]);
    clock.advance(5_000);
    claimed = await claimKeys();
    expect(claimed.map((c) => c.label)).toEqual(['call:1#1']);
    // Failing for good releases the next one, as success does.
    await finish(claimed[0]!.d, { kind: 'failed', reason: 'HTTP 400 is not retried' });
    for (const expected of ['call:1#2', 'call:1#3', 'call:1#4']) {
      claimed = await claimKeys();
      expect(claimed.map((c) => c.label)).toEqual([expected]);
      await finish(claimed[0]!.d, { kind: 'succeeded' });
    }
    expect(await claimKeys()).toEqual([]);
  });

  it('puts an earlier event that arrives late before the later one still waiting', async () => {
    await enqueue(t.store, queue, [
      delivery(owner, integration, {
        orderingKey: 'call:7',
        sequence: 10,
        nextAttemptAt: clock.ms + 1_000,
      }),
    ]);
    await enqueue(t.store, queue, [
      delivery(owner, integration, {
        orderingKey: 'call:7',
        sequence: 5,
        nextAttemptAt: clock.ms + 1_000,
      }),
    ]);
    clock.advance(1_000);
    const claimed = await claimKeys();
    expect(claimed.map((c) => c.label)).toEqual(['call:7#5']);
    await finish(claimed[0]!.d, { kind: 'succeeded' });
    expect((await claimKeys()).map((c) => c.label)).toEqual(['call:7#10']);
  });

  it('holds an earlier event that arrives while a later one of its call is out', async () => {
    await enqueue(t.store, queue, [
      delivery(owner, integration, { orderingKey: 'call:8', sequence: 10 }),
    ]);
    const [later] = (await claimKeys()).map((c) => c.d);
    expect(later?.sequence).toBe(10);
    await enqueue(t.store, queue, [
      delivery(owner, integration, { orderingKey: 'call:8', sequence: 5 }),
    ]);
    // Not beside it: the call's requests go one at a time.
    expect(await claimKeys()).toEqual([]);
    expect(await queue.sweepParked()).toBe(0);
    // #10 is to be tried again later: #5, earlier in the call, goes first.
    await finish(later!, { kind: 'retry', at: clock.ms + 5_000, reason: 'HTTP 503' });
    const claimed = await claimKeys();
    expect(claimed.map((c) => c.label)).toEqual(['call:8#5']);
    await finish(claimed[0]!.d, { kind: 'succeeded' });
    clock.advance(5_000);
    expect((await claimKeys()).map((c) => c.label)).toEqual(['call:8#10']);
  });

  it('releases the next one when an earlier one is cancelled', async () => {
    const items = [1, 2].map((sequence) =>
      delivery(owner, integration, { orderingKey: 'call:3', sequence }),
    );
    await enqueue(t.store, queue, items);
    expect(await queue.cancel(items[0]!.id)).toBe(true);
    expect((await claimKeys()).map((c) => c.label)).toEqual(['call:3#2']);
  });
});
