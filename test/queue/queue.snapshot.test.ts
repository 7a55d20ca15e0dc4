/**
 * The `/metrics` queue figures: pending deliveries, how long the earliest due one has waited (a
 * delivery due later counts from its due time), open circuits; read from the lanes' part of
 * `deliveries_lane`, whatever the number of integrations.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import {
  FakeClock,
  delivery,
  enqueue,
  seedIntegration,
  seedOwner,
  attemptRecord,
  editIntegration,
} from './queue-fixtures.js';
import { IntegrationStore } from '../../src/store/integration-store.js';

describe.each(DIALECTS)('queue snapshot on %s', (backend) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await createTestStore(backend);
  });
  afterEach(async () => {
    await t.destroy();
  });

  it('counts pending deliveries and ages the earliest due one across integrations', async () => {
    const clock = new FakeClock();
    const queue = new DeliveryQueue(t.store, { clock: clock.now });
    expect(await queue.snapshot()).toEqual({
      pending: 0,
      oldestPendingAgeSeconds: 0,
      openCircuits: 0,
    });
    const owner = await seedOwner(t.store);
    const [a, b, c] = [
      await seedIntegration(t.store, owner),
      await seedIntegration(t.store, owner),
      await seedIntegration(t.store, owner),
    ];
    await enqueue(t.store, queue, [
      delivery(owner, a!, { nextAttemptAt: clock.ms + 60_000 }),
      delivery(owner, b!, { nextAttemptAt: clock.ms - 2_000 }),
      delivery(owner, b!, { nextAttemptAt: clock.ms - 7_500 }),
      // Two of one call: the second waits behind the first, parked far in the future.
      delivery(owner, c!, { orderingKey: 'call-1', sequence: 1 }),
      delivery(owner, c!, { orderingKey: 'call-1', sequence: 2 }),
    ]);
    clock.advance(500);
    expect(await queue.snapshot()).toEqual({
      pending: 5,
      oldestPendingAgeSeconds: 8,
      openCircuits: 0,
    });
    // b's delivered; a is due later, c's first is leased (due again at its lease end), c's
    // second parked: nothing pending is overdue.
    const claimed = await queue.claim('w1', 10);
    for (const item of claimed.filter((d) => d.integrationId === b)) {
      await queue.complete(item, {
        decision: { kind: 'succeeded' },
        health: 'up',
        lastStatus: 200,
        error: null,
        record: attemptRecord(clock.ms),
      });
    }
    const after = await queue.snapshot();
    expect(after.pending).toBe(3);
    expect(after.oldestPendingAgeSeconds).toBe(0);
  });

  it('counts the open circuits of live, enabled integrations only', async () => {
    const clock = new FakeClock();
    const queue = new DeliveryQueue(t.store, {
      clock: clock.now,
      lanes: { circuit: { failureThreshold: 1, cooldownMs: 10_000 }, autoDisable: false },
    });
    const owner = await seedOwner(t.store);
    const [kept, deleted, disabled] = [
      await seedIntegration(t.store, owner),
      await seedIntegration(t.store, owner),
      await seedIntegration(t.store, owner),
    ];
    await enqueue(
      t.store,
      queue,
      [kept!, deleted!, disabled!].map((id) => delivery(owner, id)),
    );
    for (const item of await queue.claim('w1', 10)) {
      await queue.complete(item, {
        decision: { kind: 'retry', at: clock.ms + 1_000, reason: 'HTTP 503' },
        health: 'down',
        lastStatus: 503,
        error: 'HTTP 503',
        record: attemptRecord(clock.ms),
      });
    }
    expect((await queue.snapshot()).openCircuits).toBe(3);
    await new IntegrationStore(t.store).delete(deleted!, undefined);
    await editIntegration(t.store, disabled!, { enabled: false }, clock.now);
    expect(await queue.snapshot()).toMatchObject({ pending: 2, openCircuits: 1 });
  });
});
