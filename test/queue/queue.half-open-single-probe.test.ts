import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue, type CompletedAttempt } from '../../src/queue/delivery-queue.js';
import type { ClaimedDelivery } from '../../src/store/delivery-store.js';
import {
  FakeClock,
  attemptRecord,
  delivery,
  enqueue,
  laneOf,
  seedIntegration,
  seedOwner,
} from './queue-fixtures.js';

// A half-open circuit sends one probe, and only when nothing else of the lane is out: a delivery
// claimed before the circuit opened could otherwise fail while the probe is out, re-open the
// circuit and, after another cool-down, let a second probe go beside the first.
describe.each(DIALECTS)('the probe of an open circuit on %s', (backend) => {
  let t: TestStore;
  let clock: FakeClock;
  let queue: DeliveryQueue;
  let integration: string;

  const complete = (claim: ClaimedDelivery, health: CompletedAttempt['health']) =>
    queue.complete(claim, {
      decision:
        health === 'up'
          ? { kind: 'succeeded' }
          : { kind: 'retry', at: clock.ms + 1_000, reason: 'HTTP 503' },
      health,
      record: attemptRecord(clock.ms),
      lastStatus: health === 'up' ? 200 : 503,
      error: health === 'up' ? null : 'HTTP 503',
    });

  beforeEach(async () => {
    t = await createTestStore(backend);
    clock = new FakeClock();
    queue = new DeliveryQueue(t.store, {
      clock: clock.now,
      lanes: { circuit: { failureThreshold: 3, cooldownMs: 10_000 }, autoDisable: false },
    });
    const owner = await seedOwner(t.store);
    // Leases of 75 s: longer than the cool-down.
    integration = await seedIntegration(t.store, owner, { timeoutMs: 60_000 });
    await enqueue(
      t.store,
      queue,
      Array.from({ length: 8 }, () => delivery(owner, integration)),
    );
  });
  afterEach(async () => {
    await t.destroy();
  });

  it('waits for the deliveries still out before probing, then sends one', async () => {
    const first = await queue.claim('w1', 5);
    for (const claim of first.slice(0, 3)) await complete(claim, 'down');
    expect((await laneOf(t.store, integration)).circuit).toBe('open');
    clock.advance(10_000);
    // Two claimed before the circuit opened are still out.
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    await complete(first[3]!, 'down');
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    await complete(first[4]!, 'down');
    expect(await queue.claim('w2', 10)).toHaveLength(1);
    expect((await laneOf(t.store, integration)).circuit).toBe('half-open');
    clock.advance(10_000);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
  });

  it('probes once the lease of a delivery whose worker died has ended', async () => {
    const first = await queue.claim('dead', 4);
    for (const claim of first.slice(0, 3)) await complete(claim, 'down');
    clock.advance(10_000);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    clock.advance(65_001);
    expect(await queue.claim('w2', 10)).toHaveLength(1);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
  });
});
