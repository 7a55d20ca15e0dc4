import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue, type CompletedAttempt } from '../../src/queue/delivery-queue.js';
import type { ClaimedDelivery, DeliveryInput } from '../../src/store/delivery-store.js';
import {
  clockedQueue,
  FakeClock,
  attemptRecord,
  delivery,
  enqueue,
  replayAsJob,
  seedIntegration,
  statusOf,
} from './queue-fixtures.js';

// A failed delivery sent again (retry now, replay) re-enters its call's lane: it never goes out
// while another delivery of its call is out, and it goes before later ones not yet sent.
describe.each(DIALECTS)('retrying an earlier delivery of a call on %s', (backend) => {
  let t: TestStore;
  let clock: FakeClock;
  let queue: DeliveryQueue;
  let owner: string;
  let integration: string;
  let calls: DeliveryInput[];

  const finish = (claim: ClaimedDelivery, decision: CompletedAttempt['decision']) =>
    queue.complete(claim, {
      decision,
      health: 'up',
      record: attemptRecord(clock.ms),
      lastStatus: decision.kind === 'succeeded' ? 200 : 503,
      error: decision.kind === 'succeeded' ? null : 'HTTP 503',
    });
  /** A replay of the integration's failed deliveries, as a job of `batchSize` per transaction. */
  const replay = (batchSize?: number) =>
    replayAsJob(
      t.store,
      { ownerId: owner, integrationId: integration, since: 0 },
      clock.now,
      batchSize,
    );
  const sequences = async (worker = 'w') =>
    (await queue.claim(worker, 50)).map((d) => ({ d, seq: d.sequence }));
  /** Claims exactly the delivery of `sequence` and nothing else. */
  const claimOnly = async (sequence: number) => {
    const claimed = await sequences();
    expect(claimed.map((c) => c.seq)).toEqual([sequence]);
    return claimed[0]!.d;
  };
  /** #1 failed for good, #2 released and now out. */
  const firstFailedSecondOut = async () => {
    await claimOnly(1).then((d) => finish(d, { kind: 'failed', reason: 'HTTP 400' }));
    expect((await statusOf(t.store, calls[0]!.id)).status).toBe('failed');
    return claimOnly(2);
  };

  beforeEach(async () => {
    ({ t, clock, queue, owner } = await clockedQueue(backend));
    integration = await seedIntegration(t.store, owner);
    calls = [1, 2, 3].map((sequence) =>
      delivery(owner, integration, { orderingKey: 'call:1', sequence }),
    );
    await enqueue(t.store, queue, calls);
  });
  afterEach(async () => {
    await t.destroy();
  });

  it('does not send a retried delivery while a later one of its call is out', async () => {
    const second = await firstFailedSecondOut();
    expect(await queue.retryNow(calls[0]!.id)).toBe(true);
    expect(await sequences()).toEqual([]);
    // Nor does the sweep of parked deliveries let it go while #2 is out.
    expect(await queue.sweepParked()).toBe(0);
    expect(await sequences()).toEqual([]);
    // #2 comes back: #1 goes, before #3.
    await finish(second, { kind: 'succeeded' });
    await claimOnly(1).then((d) => finish(d, { kind: 'succeeded' }));
    await claimOnly(3).then((d) => finish(d, { kind: 'succeeded' }));
    expect(await sequences()).toEqual([]);
  });

  it('holds a replayed one the same way, and sends it before a later one retrying', async () => {
    const second = await firstFailedSecondOut();
    expect(await replay()).toBe(1);
    expect(await sequences()).toEqual([]);
    // #2 is to be tried again in 5 s: #1, now first of its call, goes at once.
    await finish(second, { kind: 'retry', at: clock.ms + 5_000, reason: 'HTTP 503' });
    const first = await claimOnly(1);
    clock.advance(5_000);
    expect(await sequences()).toEqual([]);
    await finish(first, { kind: 'succeeded' });
    await claimOnly(2).then((d) => finish(d, { kind: 'succeeded' }));
    await claimOnly(3);
  });

  it('waits for a later one cancelled in flight to come back', async () => {
    const second = await firstFailedSecondOut();
    expect(await queue.cancel(second.id)).toBe(true);
    expect(await queue.retryNow(calls[0]!.id)).toBe(true);
    expect(await sequences()).toEqual([]);
    expect(await queue.sweepParked()).toBe(0);
    // Its late completion ends its lease: #1 goes.
    expect((await finish(second, { kind: 'succeeded' })).applied).toBe(false);
    await claimOnly(1);
  });

  it('goes when the later one is given back unsent, or after its lease', async () => {
    const second = await firstFailedSecondOut();
    expect(await queue.retryNow(calls[0]!.id)).toBe(true);
    // #2's worker stops before sending it: #1 goes first.
    await queue.release([second]);
    await claimOnly(1);
    // #1's worker dies: after its lease, #1 again, and still nothing after it.
    clock.advance(120_000);
    expect(await queue.sweepParked()).toBe(0);
    await claimOnly(1).then((d) => finish(d, { kind: 'succeeded' }));
    await claimOnly(2);
  });

  it('is let go by the sweep once the lease of the later one has ended', async () => {
    await firstFailedSecondOut();
    expect(await queue.retryNow(calls[0]!.id)).toBe(true);
    clock.advance(120_000);
    expect(await queue.sweepParked()).toBe(1);
    await claimOnly(1);
  });

  it('goes before later ones that are pending but not out', async () => {
    const second = await firstFailedSecondOut();
    await finish(second, { kind: 'retry', at: clock.ms + 1_000, reason: 'HTTP 503' });
    clock.advance(1_000);
    expect(await queue.retryNow(calls[0]!.id)).toBe(true);
    await claimOnly(1).then((d) => finish(d, { kind: 'succeeded' }));
    await claimOnly(2);
  });

  // All three in one transaction, or each in a batch of its own: the job requeues them in order.
  it.each([500, 1])(
    'sends several replayed deliveries of one call one at a time, in order (batches of %i)',
    async (batchSize) => {
      for (const sequence of [1, 2, 3])
        await claimOnly(sequence).then((d) => finish(d, { kind: 'failed', reason: 'HTTP 400' }));
      expect(await replay(batchSize)).toBe(3);
      for (const sequence of [1, 2, 3])
        await claimOnly(sequence).then((d) => finish(d, { kind: 'succeeded' }));
      expect(await sequences()).toEqual([]);
    },
  );
});
