/**
 * The `/metrics` queue figures: pending deliveries, those held until someone acts (a disabled
 * integration's, a paused campaign's), how long the earliest due one that could go has waited (a
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
import { HELD } from '../../src/store/delivery-store.js';
import { laneHealth } from '../../src/store/lane-store.js';

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
      held: 0,
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
      held: 0,
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

  it('leaves a disabled integration’s backlog out of the oldest age, and counts it held', async () => {
    const clock = new FakeClock();
    const queue = new DeliveryQueue(t.store, { clock: clock.now });
    const owner = await seedOwner(t.store);
    const [off, on] = [
      await seedIntegration(t.store, owner),
      await seedIntegration(t.store, owner),
    ];
    await enqueue(t.store, queue, [
      delivery(owner, off!, { nextAttemptAt: clock.ms - 3_600_000 }),
      delivery(owner, off!, { nextAttemptAt: clock.ms - 60_000 }),
      delivery(owner, on!, { nextAttemptAt: clock.ms - 5_000 }),
      // Held by a paused campaign (its own time plus HELD): out of reach until the resume.
      delivery(owner, on!, { nextAttemptAt: clock.ms - 120_000 + HELD }),
    ]);
    expect(await queue.snapshot()).toEqual({
      pending: 4,
      held: 1,
      oldestPendingAgeSeconds: 3_600,
      openCircuits: 0,
    });
    // Disabled: its deliveries wait for its owner, by design. Counted in the depth, and held; the
    // oldest age is that of what could go, and stays put while the integration is off.
    await editIntegration(t.store, off!, { enabled: false }, clock.now);
    expect((await queue.snapshot()).oldestPendingAgeSeconds).toBe(5);
    const disabled = { pending: 4, held: 3, oldestPendingAgeSeconds: 5, openCircuits: 0 };
    expect(await queue.snapshot()).toEqual(disabled);
    // Nothing of it is claimed meanwhile; the enabled one's due delivery goes.
    const claimed = await queue.claim('w1', 10);
    expect(claimed.map((d) => d.integrationId)).toEqual([on]);
    await queue.complete(claimed[0]!, {
      decision: { kind: 'succeeded' },
      health: 'up',
      lastStatus: 200,
      error: null,
      record: attemptRecord(clock.ms),
    });
    clock.advance(86_400_000);
    expect(await queue.snapshot()).toEqual({
      pending: 3,
      held: 3,
      oldestPendingAgeSeconds: 0,
      openCircuits: 0,
    });
    // Enabled again: its backlog is due, and ages from its own due times.
    await editIntegration(t.store, off!, { enabled: true }, clock.now);
    expect(await queue.snapshot()).toMatchObject({
      pending: 3,
      held: 1,
      oldestPendingAgeSeconds: 86_400 + 3_600,
    });
    // A deleted integration's pending deliveries are cancelled: nothing is left to hold.
    await new IntegrationStore(t.store).delete(off!, undefined);
    expect(await queue.snapshot()).toMatchObject({ pending: 1, held: 1 });
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

  it('counts a circuit past its cool-down only while it has deliveries pending, as the health route reads it', async () => {
    const clock = new FakeClock();
    const queue = new DeliveryQueue(t.store, {
      clock: clock.now,
      lanes: { circuit: { failureThreshold: 1, cooldownMs: 10_000 }, autoDisable: false },
    });
    const owner = await seedOwner(t.store);
    const [idle, backlog] = [
      await seedIntegration(t.store, owner),
      await seedIntegration(t.store, owner),
    ];
    await enqueue(t.store, queue, [delivery(owner, idle!), delivery(owner, backlog!)]);
    // Both remotes down: `idle`'s delivery has spent its budget, `backlog`'s is retried in 5 min.
    for (const item of await queue.claim('w1', 10)) {
      await queue.complete(item, {
        decision:
          item.integrationId === idle
            ? { kind: 'failed', reason: 'HTTP 503, retry budget spent' }
            : { kind: 'retry', at: clock.ms + 300_000, reason: 'HTTP 503' },
        health: 'down',
        lastStatus: 503,
        error: 'HTTP 503',
        record: attemptRecord(clock.ms),
      });
    }
    const circuitOf = async (id: string) => {
      const health = await laneHealth(t.store.db, id, clock.ms);
      return [health.circuit, health.pending];
    };
    expect(await circuitOf(idle!)).toEqual(['open', 0]);
    expect((await queue.snapshot()).openCircuits).toBe(2);
    // Cool-down over. `idle` has nothing to probe with: it stays as it was in the lane until a
    // delivery comes, maybe days later, and holds nothing back meanwhile. `backlog`'s retry waits
    // on the circuit's probe.
    clock.advance(10_000);
    expect(await circuitOf(idle!)).toEqual(['half-open', 0]);
    expect(await circuitOf(backlog!)).toEqual(['half-open', 1]);
    expect((await queue.snapshot()).openCircuits, 'open circuits past the cool-down').toBe(1);
    clock.advance(86_400_000);
    expect((await queue.snapshot()).openCircuits).toBe(1);
    // A delivery for `idle`: its circuit is half-open with work, counted until the probe answers.
    await enqueue(t.store, queue, [delivery(owner, idle!)]);
    expect((await queue.snapshot()).openCircuits).toBe(2);
    const probes = await queue.claim('w1', 10);
    expect(probes.map((d) => d.integrationId).sort()).toEqual([idle, backlog].sort());
    expect((await queue.snapshot()).openCircuits).toBe(2);
    for (const item of probes) {
      await queue.complete(item, {
        decision: { kind: 'succeeded' },
        health: 'up',
        lastStatus: 200,
        error: null,
        record: attemptRecord(clock.ms),
      });
    }
    expect(await queue.snapshot()).toMatchObject({ pending: 0, openCircuits: 0 });
  });
});
