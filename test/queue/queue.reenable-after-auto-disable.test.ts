import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import type { ClaimedDelivery } from '../../src/store/delivery-store.js';
import {
  FakeClock,
  attemptRecord,
  delivery,
  editIntegration,
  enqueue,
  laneOf,
  seedIntegration,
  seedOwner,
} from './queue-fixtures.js';

// An integration enabled again starts fresh (docs/delivery.md, "Circuit"): no failure streak,
// circuit closed, no hold; and the failures of what was still in flight when it was disabled do
// not count against it.
describe.each(DIALECTS)('enabling an integration again on %s', (backend) => {
  let t: TestStore;
  let clock: FakeClock;
  let owner: string;

  const fail = (queue: DeliveryQueue, claim: ClaimedDelivery) =>
    queue.complete(claim, {
      decision: { kind: 'retry', at: clock.ms + 1_000, reason: 'HTTP 503' },
      health: 'down',
      record: attemptRecord(clock.ms),
      lastStatus: 503,
      error: 'HTTP 503',
    });
  const disabledReason = async (id: string) =>
    (
      await t.store.db
        .selectFrom('integrations')
        .select('disabled_reason')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).disabled_reason;

  beforeEach(async () => {
    t = await createTestStore(backend);
    clock = new FakeClock();
    owner = await seedOwner(t.store);
  });
  afterEach(async () => {
    await t.destroy();
  });

  it('does not count failures of deliveries still in flight when it was auto-disabled', async () => {
    const queue = new DeliveryQueue(t.store, {
      clock: clock.now,
      lanes: {
        circuit: { failureThreshold: 3, cooldownMs: 10_000 },
        autoDisable: { afterFailures: 2, afterMs: 0 },
      },
    });
    const integration = await seedIntegration(t.store, owner);
    await enqueue(
      t.store,
      queue,
      Array.from({ length: 6 }, () => delivery(owner, integration)),
    );
    const claims = await queue.claim('w1', 6);
    expect(claims).toHaveLength(6);
    expect((await fail(queue, claims[0]!)).disabled).toBeUndefined();
    const reason = (await fail(queue, claims[1]!)).disabled;
    expect(reason).toMatch(/^disabled after 2 consecutive failed attempts/);
    clock.advance(1_000);
    for (const claim of claims.slice(2, 5))
      expect((await fail(queue, claim)).disabled).toBeUndefined();
    expect(await disabledReason(integration)).toBe(reason);
    const lane = await laneOf(t.store, integration);
    expect({ failures: lane.consecutive_failures, circuit: lane.circuit }).toEqual({
      failures: 0,
      circuit: 'closed',
    });
  });

  it('resets the streak, the circuit and its hold when enabled again', async () => {
    const queue = new DeliveryQueue(t.store, {
      clock: clock.now,
      lanes: { circuit: { failureThreshold: 3, cooldownMs: 10_000 }, autoDisable: false },
    });
    const integration = await seedIntegration(t.store, owner);
    await enqueue(
      t.store,
      queue,
      Array.from({ length: 6 }, () => delivery(owner, integration)),
    );
    for (const claim of await queue.claim('w1', 3)) await fail(queue, claim);
    expect((await laneOf(t.store, integration)).circuit).toBe('open');
    await editIntegration(t.store, integration, { enabled: false }, clock.now);
    await editIntegration(t.store, integration, { enabled: true }, clock.now);
    const lane = await laneOf(t.store, integration);
    expect({
      failures: lane.consecutive_failures,
      failingSince: lane.failing_since,
      circuit: lane.circuit,
      hold: lane.hold_reason,
    }).toEqual({ failures: 0, failingSince: null, circuit: 'closed', hold: null });
    clock.advance(1_000);
    // Not a single probe: the lane flows again.
    expect(await queue.claim('w1', 10)).toHaveLength(6);
  });

  it('leaves the lane alone on an edit that does not enable it', async () => {
    const queue = new DeliveryQueue(t.store, {
      clock: clock.now,
      lanes: { circuit: { failureThreshold: 3, cooldownMs: 10_000 }, autoDisable: false },
    });
    const integration = await seedIntegration(t.store, owner);
    await enqueue(
      t.store,
      queue,
      Array.from({ length: 3 }, () => delivery(owner, integration)),
    );
    for (const claim of await queue.claim('w1', 3)) await fail(queue, claim);
    await editIntegration(t.store, integration, { options: { timeoutMs: 6_000 } }, clock.now);
    expect((await laneOf(t.store, integration)).circuit).toBe('open');
  });
});
