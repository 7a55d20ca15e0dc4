import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, type TestStore } from '../helpers/store.js';
import type { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import {
  FakeClock,
  attemptsOf,
  delivery,
  enqueue,
  replayAsJob,
  seedQueue,
  statusOf,
  attemptRecord,
} from './queue-fixtures.js';

const record = (at: number) => attemptRecord(at, null, 3);

describe.each(DIALECTS)('queue claim, lease and expiry on %s', (backend) => {
  let t: TestStore;
  let clock: FakeClock;
  let queue: DeliveryQueue;
  let owner: string;
  let integration: string;

  beforeEach(async () => {
    clock = new FakeClock();
    ({ t, queue, owner, integration } = await seedQueue(backend, {
      clock: clock.now,
      lanes: { leaseMs: 30_000 },
    }));
  });
  afterEach(async () => {
    await t.destroy();
  });

  it('leases each due delivery to one worker at a time', async () => {
    const items = [1, 2, 3].map(() => delivery(owner, integration));
    await enqueue(t.store, queue, items);
    const first = await queue.claim('w1', 2);
    const second = await queue.claim('w2', 10);
    const third = await queue.claim('w3', 10);
    expect(first).toHaveLength(2);
    expect(second).toHaveLength(1);
    expect(third).toHaveLength(0);
    const ids = [...first, ...second].map((d) => d.id).sort();
    expect(ids).toEqual(items.map((d) => d.id).sort());
    expect(first[0]!.attempt).toBe(1);
    expect(first[0]!.leaseUntil).toBe(clock.ms + 30_000 + 0 * 1);
  });

  it('does not claim a delivery before its time', async () => {
    await enqueue(t.store, queue, [
      delivery(owner, integration, { nextAttemptAt: clock.ms + 5_000 }),
    ]);
    expect(await queue.claim('w1', 5)).toHaveLength(0);
    clock.advance(5_000);
    expect(await queue.claim('w1', 5)).toHaveLength(1);
  });

  it("gives a dead worker's delivery to another after the lease runs out", async () => {
    const item = delivery(owner, integration);
    await enqueue(t.store, queue, [item]);
    const [lost] = await queue.claim('dead', 1);
    expect(lost).toBeDefined();
    clock.advance(29_000);
    expect(await queue.claim('w2', 1)).toHaveLength(0);
    clock.advance(1_001);
    const [again] = await queue.claim('w2', 1);
    expect(again?.id).toBe(item.id);
    expect(again?.attempt).toBe(2);
    // The dead worker wakes up late: its completion no longer applies, but its attempt is logged.
    const late = await queue.complete(lost!, {
      decision: { kind: 'succeeded' },
      health: 'up',
      record: record(clock.ms),
      lastStatus: 200,
      error: null,
    });
    expect(late.applied).toBe(false);
    const done = await queue.complete(again!, {
      decision: { kind: 'succeeded' },
      health: 'up',
      record: record(clock.ms),
      lastStatus: 200,
      error: null,
    });
    expect(done.applied).toBe(true);
    const row = await statusOf(t.store, item.id);
    expect(row.status).toBe('succeeded');
    expect(row.lease_owner).toBeNull();
    expect((await attemptsOf(t.store, item.id)).map((a) => a.attempt)).toEqual([1, 2]);
  });

  it('refuses a batch that completes one delivery twice, and stores none of it', async () => {
    const items = [1, 2].map(() => delivery(owner, integration));
    await enqueue(t.store, queue, items);
    const [a, b] = await queue.claim('w1', 2);
    const done = (claim: typeof a) => ({
      claim: claim!,
      attempt: {
        decision: { kind: 'succeeded' as const },
        health: 'up' as const,
        record: record(clock.ms),
        lastStatus: 200,
        error: null,
      },
    });
    await expect(queue.completeMany([done(a), done(b), done(a)])).rejects.toThrow(
      `delivery ${a!.id} is completed twice in one batch`,
    );
    for (const item of items) {
      expect((await statusOf(t.store, item.id)).status).toBe('pending');
      expect(await attemptsOf(t.store, item.id)).toEqual([]);
    }
  });

  it('retry(at) makes a delivery due again at that time, release at once without counting', async () => {
    const item = delivery(owner, integration);
    await enqueue(t.store, queue, [item]);
    const [claimed] = await queue.claim('w1', 1);
    await queue.complete(claimed!, {
      decision: { kind: 'retry', at: clock.ms + 5_000, reason: 'HTTP 503' },
      health: 'down',
      record: record(clock.ms),
      lastStatus: 503,
      error: 'HTTP 503',
    });
    expect(await queue.claim('w1', 1)).toHaveLength(0);
    clock.advance(5_000);
    const [again] = await queue.claim('w1', 1);
    expect(again?.attempt).toBe(2);
    await queue.release([again!]);
    const [third] = await queue.claim('w1', 1);
    expect(third?.attempt).toBe(2);
    expect((await statusOf(t.store, item.id)).last_status).toBe(503);
  });

  it('cancel stops a pending delivery, even one in flight', async () => {
    const item = delivery(owner, integration);
    await enqueue(t.store, queue, [item]);
    const [claimed] = await queue.claim('w1', 1);
    expect(await queue.cancel(item.id)).toBe(true);
    expect(await queue.cancel(item.id)).toBe(false);
    const result = await queue.complete(claimed!, {
      decision: { kind: 'succeeded' },
      health: 'up',
      record: record(clock.ms),
      lastStatus: 200,
      error: null,
    });
    expect(result.applied).toBe(false);
    expect((await statusOf(t.store, item.id)).status).toBe('cancelled');
  });

  it('retry-now and replay bring failed deliveries back with a fresh budget', async () => {
    const items = [1, 2, 3].map(() => delivery(owner, integration));
    await enqueue(t.store, queue, items);
    for (const claimed of await queue.claim('w1', 3)) {
      await queue.complete(claimed, {
        decision: { kind: 'failed', reason: 'HTTP 404 is not retried' },
        health: 'up',
        record: record(clock.ms),
        lastStatus: 404,
        error: 'HTTP 404 is not retried',
      });
    }
    expect(await queue.retryNow(items[0]!.id)).toBe(true);
    expect(await queue.retryNow(items[0]!.id)).toBe(false);
    const [one] = await queue.claim('w1', 5);
    expect(one?.id).toBe(items[0]!.id);
    expect(one?.attempt).toBe(2);
    expect(one?.budgetAttempt).toBe(1);
    await queue.release([one!]);
    const replay = (since: number) =>
      replayAsJob(t.store, { ownerId: owner, integrationId: integration, since }, clock.now);
    expect(await replay(clock.ms + 1)).toBe(0);
    expect(await replay(clock.ms - 1)).toBe(2);
    expect(await queue.claim('w1', 5)).toHaveLength(3);
  });
});
