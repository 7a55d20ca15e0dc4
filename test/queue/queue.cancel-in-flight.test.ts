import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue, type CompletedAttempt } from '../../src/queue/delivery-queue.js';
import type { ClaimedDelivery } from '../../src/store/delivery-store.js';
import {
  clockedQueue,
  FakeClock,
  attemptRecord,
  delivery,
  enqueue,
  seedIntegration,
  statusOf,
} from './queue-fixtures.js';

// A delivery cancelled while its request is out is still out: it keeps its concurrency slot and
// the next delivery of its call waits for it, until its late completion or the end of its lease.
describe.each(DIALECTS)('cancelling a delivery in flight on %s', (backend) => {
  let t: TestStore;
  let clock: FakeClock;
  let queue: DeliveryQueue;
  let owner: string;

  const succeed = (claim: ClaimedDelivery) =>
    queue.complete(claim, {
      decision: { kind: 'succeeded' },
      health: 'up',
      record: attemptRecord(clock.ms),
      lastStatus: 200,
      error: null,
    } satisfies CompletedAttempt);

  beforeEach(async () => {
    ({ t, clock, queue, owner } = await clockedQueue(backend));
  });
  afterEach(async () => {
    await t.destroy();
  });

  it('keeps its maxConcurrency slot until its late completion', async () => {
    const integration = await seedIntegration(t.store, owner, { maxConcurrency: 2 });
    await enqueue(
      t.store,
      queue,
      Array.from({ length: 5 }, () => delivery(owner, integration)),
    );
    const [first] = await queue.claim('w1', 1);
    expect(await queue.cancel(first!.id)).toBe(true);
    // `first` is still being sent by w1: one more may go, not two.
    expect(await queue.claim('w2', 10)).toHaveLength(1);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    const late = await succeed(first!);
    expect(late.applied).toBe(false);
    expect((await statusOf(t.store, first!.id)).status).toBe('cancelled');
    expect(await queue.claim('w2', 10)).toHaveLength(1);
  });

  it('keeps the answer of its late completion, one by one and in a batch, and stays cancelled', async () => {
    const integration = await seedIntegration(t.store, owner);
    const ds = Array.from({ length: 3 }, () => delivery(owner, integration));
    await enqueue(t.store, queue, ds);
    const claims = await queue.claim('w1', 10);
    expect(claims).toHaveLength(3);
    for (const claim of claims) expect(await queue.cancel(claim.id)).toBe(true);
    const answered = (lastStatus: number, error: string | null, ok: boolean) =>
      ({
        decision: ok ? { kind: 'succeeded' } : { kind: 'failed', reason: error ?? 'failed' },
        health: ok ? 'up' : 'down',
        record: attemptRecord(clock.ms),
        lastStatus,
        error,
      }) as CompletedAttempt;
    // A failure alone; two successes of one worker together (the set-based path).
    expect((await queue.complete(claims[0]!, answered(404, 'HTTP 404', false))).applied).toBe(
      false,
    );
    const late = await queue.completeMany([
      { claim: claims[1]!, attempt: answered(200, null, true) },
      { claim: claims[2]!, attempt: answered(201, null, true) },
    ]);
    expect(late.map((r) => r.applied)).toEqual([false, false]);
    const rows = await Promise.all(claims.map((c) => statusOf(t.store, c.id)));
    expect(rows.map((r) => [r.status, r.last_status, r.last_error, r.lease_owner])).toEqual([
      ['cancelled', 404, 'HTTP 404', null],
      ['cancelled', 200, null, null],
      ['cancelled', 201, null, null],
    ]);
  });

  it('keeps its slot until its lease ends when no completion comes', async () => {
    const integration = await seedIntegration(t.store, owner, {
      maxConcurrency: 1,
      timeoutMs: 1_000,
    });
    await enqueue(t.store, queue, [delivery(owner, integration), delivery(owner, integration)]);
    const [first] = await queue.claim('dead', 1);
    expect(await queue.cancel(first!.id)).toBe(true);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    clock.advance(60_001);
    expect(await queue.claim('w2', 10)).toHaveLength(1);
  });

  it('lets the next delivery of its call go at its late completion, not at the cancel', async () => {
    const integration = await seedIntegration(t.store, owner);
    const a = delivery(owner, integration, { orderingKey: 'call:1', sequence: 1 });
    const b = delivery(owner, integration, { orderingKey: 'call:1', sequence: 2 });
    await enqueue(t.store, queue, [a, b]);
    const [first] = await queue.claim('w1', 10);
    expect(first!.id).toBe(a.id);
    expect(await queue.cancel(a.id)).toBe(true);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    // The sweep of parked deliveries does not release it either while `a` is out.
    expect(await queue.sweepParked()).toBe(0);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    expect((await succeed(first!)).applied).toBe(false);
    expect((await statusOf(t.store, a.id)).status).toBe('cancelled');
    expect((await queue.claim('w2', 10)).map((c) => c.id)).toEqual([b.id]);
  });

  it('parks a later delivery of its call stored while it is out', async () => {
    const integration = await seedIntegration(t.store, owner);
    const a = delivery(owner, integration, { orderingKey: 'call:1', sequence: 1 });
    await enqueue(t.store, queue, [a]);
    const [first] = await queue.claim('w1', 10);
    expect(await queue.cancel(a.id)).toBe(true);
    const b = delivery(owner, integration, { orderingKey: 'call:1', sequence: 2 });
    await enqueue(t.store, queue, [b]);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    expect((await succeed(first!)).applied).toBe(false);
    expect((await queue.claim('w2', 10)).map((c) => c.id)).toEqual([b.id]);
  });

  it('lets the next delivery of its call go through the sweep once its lease has ended', async () => {
    const integration = await seedIntegration(t.store, owner, { timeoutMs: 1_000 });
    const a = delivery(owner, integration, { orderingKey: 'call:1', sequence: 1 });
    const b = delivery(owner, integration, { orderingKey: 'call:1', sequence: 2 });
    await enqueue(t.store, queue, [a, b]);
    await queue.claim('dead', 10);
    expect(await queue.cancel(a.id)).toBe(true);
    clock.advance(60_001);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    expect(await queue.sweepParked()).toBe(1);
    expect((await queue.claim('w2', 10)).map((c) => c.id)).toEqual([b.id]);
  });

  it('keeps the rest of its call parked when a later one, parked behind it, is cancelled', async () => {
    const integration = await seedIntegration(t.store, owner, { timeoutMs: 1_000 });
    const [a, b, c] = [1, 2, 3].map((sequence) =>
      delivery(owner, integration, { orderingKey: 'call:1', sequence }),
    );
    await enqueue(t.store, queue, [a!, b!, c!]);
    const [first] = await queue.claim('w1', 10);
    expect(first!.id).toBe(a!.id);
    expect(await queue.cancel(a!.id)).toBe(true);
    // `b` waits behind `a`, whose request is still out; cancelling `b` lets `c` go no sooner.
    expect(await queue.cancel(b!.id)).toBe(true);
    expect(await queue.claim('w2', 10)).toEqual([]);
    expect(await queue.sweepParked()).toBe(0);
    expect(await queue.claim('w2', 10)).toEqual([]);
    // `a`'s late completion ends its lease: `c` goes.
    expect((await succeed(first!)).applied).toBe(false);
    expect((await queue.claim('w2', 10)).map((d) => d.id)).toEqual([c!.id]);
  });

  it('lets the rest of its call go through the sweep once its lease has ended, a later one cancelled meanwhile', async () => {
    const integration = await seedIntegration(t.store, owner, { timeoutMs: 1_000 });
    const [a, b, c] = [1, 2, 3].map((sequence) =>
      delivery(owner, integration, { orderingKey: 'call:1', sequence }),
    );
    await enqueue(t.store, queue, [a!, b!, c!]);
    await queue.claim('dead', 10);
    expect(await queue.cancel(a!.id)).toBe(true);
    expect(await queue.cancel(b!.id)).toBe(true);
    expect(await queue.claim('w2', 10)).toEqual([]);
    clock.advance(60_001);
    expect(await queue.sweepParked()).toBe(1);
    expect((await queue.claim('w2', 10)).map((d) => d.id)).toEqual([c!.id]);
  });

  it('lets the next delivery of its call go when its worker gives it back unsent', async () => {
    const integration = await seedIntegration(t.store, owner);
    const a = delivery(owner, integration, { orderingKey: 'call:1', sequence: 1 });
    const b = delivery(owner, integration, { orderingKey: 'call:1', sequence: 2 });
    await enqueue(t.store, queue, [a, b]);
    const [first] = await queue.claim('w1', 10);
    expect(await queue.cancel(a.id)).toBe(true);
    await queue.release([first!]);
    expect((await statusOf(t.store, a.id)).status).toBe('cancelled');
    expect((await queue.claim('w2', 10)).map((c) => c.id)).toEqual([b.id]);
  });

  it('cancels a delivery that is not in flight as before: the next one goes at once', async () => {
    const integration = await seedIntegration(t.store, owner);
    const a = delivery(owner, integration, { orderingKey: 'call:1', sequence: 1 });
    const b = delivery(owner, integration, { orderingKey: 'call:1', sequence: 2 });
    await enqueue(t.store, queue, [a, b]);
    expect(await queue.cancel(a.id)).toBe(true);
    expect((await statusOf(t.store, a.id)).lease_owner).toBeNull();
    expect((await queue.claim('w2', 10)).map((c) => c.id)).toEqual([b.id]);
  });
});
