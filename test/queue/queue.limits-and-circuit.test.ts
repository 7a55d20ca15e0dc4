import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue, type CompletedAttempt } from '../../src/queue/delivery-queue.js';
import type { ClaimedDelivery } from '../../src/store/delivery-store.js';
import {
  FakeClock,
  delivery,
  enqueue,
  seedIntegration,
  seedOwner,
  statusOf,
  attemptRecord,
} from './queue-fixtures.js';

describe.each(DIALECTS)('limits and circuit on %s', (backend) => {
  let t: TestStore;
  let clock: FakeClock;
  let queue: DeliveryQueue;
  let owner: string;

  const complete = (claim: ClaimedDelivery, health: CompletedAttempt['health'], retryInMs = 0) =>
    queue.complete(claim, {
      decision:
        health === 'up'
          ? { kind: 'succeeded' }
          : { kind: 'retry', at: clock.ms + retryInMs, reason: 'HTTP 503' },
      health,
      record: attemptRecord(clock.ms),
      lastStatus: health === 'up' ? 200 : 503,
      error: health === 'up' ? null : 'HTTP 503',
    });
  const many = (integration: string, n: number) =>
    Array.from({ length: n }, () => delivery(owner, integration));

  beforeEach(async () => {
    t = await createTestStore(backend);
    clock = new FakeClock();
    queue = new DeliveryQueue(t.store, {
      clock: clock.now,
      lanes: { circuit: { failureThreshold: 3, cooldownMs: 10_000 }, autoDisable: false },
    });
    owner = await seedOwner(t.store);
  });
  afterEach(async () => {
    await t.destroy();
  });

  it('holds maxConcurrency across workers, freeing a slot on completion', async () => {
    const integration = await seedIntegration(t.store, owner, { maxConcurrency: 2 });
    await enqueue(t.store, queue, many(integration, 6));
    const claims = [
      ...(await queue.claim('w1', 10)),
      ...(await queue.claim('w2', 10)),
      ...(await queue.claim('w3', 10)),
    ];
    expect(claims).toHaveLength(2);
    await complete(claims[0]!, 'up');
    expect(await queue.claim('w3', 10)).toHaveLength(1);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
  });

  it('frees the slot of a dead worker when its lease ends', async () => {
    const integration = await seedIntegration(t.store, owner, {
      maxConcurrency: 1,
      timeoutMs: 1_000,
    });
    await enqueue(t.store, queue, many(integration, 2));
    expect(await queue.claim('dead', 10)).toHaveLength(1);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    clock.advance(60_001);
    expect(await queue.claim('w2', 10)).toHaveLength(1);
  });

  it('holds ratePerSecond with a token bucket', async () => {
    const integration = await seedIntegration(t.store, owner, { ratePerSecond: 2 });
    await enqueue(t.store, queue, many(integration, 10));
    expect(await queue.claim('w1', 10)).toHaveLength(2);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    clock.advance(499);
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    clock.advance(1);
    expect(await queue.claim('w2', 10)).toHaveLength(1);
    clock.advance(10_000);
    // The bucket holds one second's worth, no more.
    expect(await queue.claim('w1', 10)).toHaveLength(2);
  });

  it('serves a healthy integration next to one at its limit with a huge backlog', async () => {
    const dead = await seedIntegration(t.store, owner, { maxConcurrency: 2 });
    const healthy = await seedIntegration(t.store, owner);
    await enqueue(t.store, queue, many(dead, 500));
    await enqueue(t.store, queue, many(healthy, 3));
    const first = await queue.claim('w1', 10);
    const byLane = (claims: ClaimedDelivery[], id: string) =>
      claims.filter((c) => c.integrationId === id).length;
    expect(byLane(first, dead)).toBe(2);
    expect(byLane(first, healthy)).toBe(3);
    await enqueue(t.store, queue, many(healthy, 2));
    const second = await queue.claim('w1', 10);
    expect(byLane(second, healthy)).toBe(2);
    expect(byLane(second, dead)).toBe(0);
  });

  it('shares a claim between busy integrations', async () => {
    const a = await seedIntegration(t.store, owner);
    const b = await seedIntegration(t.store, owner);
    await enqueue(t.store, queue, [...many(a, 50), ...many(b, 50)]);
    const claims = await queue.claim('w1', 4);
    expect(claims.filter((c) => c.integrationId === a)).toHaveLength(2);
    expect(claims.filter((c) => c.integrationId === b)).toHaveLength(2);
  });

  it('opens the circuit after repeated failures, probes after the cool-down, closes on success', async () => {
    const integration = await seedIntegration(t.store, owner);
    const items = many(integration, 6);
    await enqueue(t.store, queue, items);
    const first = await queue.claim('w1', 3);
    for (const claim of first) await complete(claim, 'down');
    // Open: due deliveries wait, none is dropped.
    expect(await queue.claim('w1', 10)).toHaveLength(0);
    clock.advance(9_999);
    expect(await queue.claim('w1', 10)).toHaveLength(0);
    clock.advance(1);
    // Half-open: one probe, nothing else while it is out.
    const [probe] = await queue.claim('w1', 10);
    expect(probe).toBeDefined();
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    await complete(probe!, 'down');
    expect(await queue.claim('w1', 10)).toHaveLength(0);
    clock.advance(10_000);
    const [second] = await queue.claim('w1', 10);
    expect(second).toBeDefined();
    await complete(second!, 'up');
    // Closed: the rest flows.
    expect(await queue.claim('w1', 10)).toHaveLength(5);
    for (const item of items) expect((await statusOf(t.store, item.id)).status).not.toBe('failed');
  });

  it('keeps the probe alone: it waits for what is out, and an untouched one lets another go', async () => {
    // Leases outlive the cool-down: what was claimed before the circuit opened is still out.
    const integration = await seedIntegration(t.store, owner, { timeoutMs: 60_000 });
    await enqueue(t.store, queue, many(integration, 6));
    const first = await queue.claim('w1', 5);
    expect(first).toHaveLength(5);
    for (const claim of first.slice(0, 3)) await complete(claim, 'down');
    clock.advance(10_000);
    // No probe while deliveries claimed before the circuit opened are out.
    expect(await queue.claim('w1', 10)).toHaveLength(0);
    // They come back without reaching the remote (refused, not rendered): they prove nothing.
    await complete(first[3]!, 'none');
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    await complete(first[4]!, 'none');
    const [probe] = await queue.claim('w1', 10);
    expect(probe).toBeDefined();
    expect(await queue.claim('w2', 10)).toHaveLength(0);
    // The probe itself comes back untouched: nothing else is out, another probe goes at once.
    await complete(probe!, 'none');
    expect(await queue.claim('w2', 10)).toHaveLength(1);
  });

  it('disables an integration after a long failing streak, with the reason; its deliveries wait', async () => {
    const strict = new DeliveryQueue(t.store, {
      clock: clock.now,
      lanes: {
        circuit: { failureThreshold: 100, cooldownMs: 1 },
        autoDisable: { afterFailures: 3, afterMs: 60_000 },
      },
    });
    const integration = await seedIntegration(t.store, owner);
    await enqueue(t.store, strict, many(integration, 2));
    let disabled: string | undefined;
    for (let i = 0; i < 4 && disabled === undefined; i += 1) {
      const [claim] = await strict.claim('w1', 1);
      const result = await strict.complete(claim!, {
        decision: { kind: 'retry', at: clock.ms, reason: 'timeout' },
        health: 'down',
        record: attemptRecord(clock.ms, 'timeout'),
        lastStatus: null,
        error: 'timeout',
      });
      disabled = result.disabled;
      clock.advance(30_000);
    }
    expect(disabled).toMatch(
      /^disabled after 3 consecutive failed attempts since 2026-11-27T10:00:00.000Z$/,
    );
    const row = await t.store.db
      .selectFrom('integrations')
      .selectAll()
      .where('id', '=', integration)
      .executeTakeFirstOrThrow();
    expect(row.enabled).toBe(0);
    expect(row.disabled_reason).toBe(disabled);
    expect(await strict.claim('w1', 10)).toHaveLength(0);
    const pending = await t.store.db
      .selectFrom('deliveries')
      .select('status')
      .where('integration_id', '=', integration)
      .execute();
    expect(pending.map((r) => r.status)).toEqual(['pending', 'pending']);
    // Enabled again by its owner: the deliveries go out.
    await t.store.db
      .updateTable('integrations')
      .set({ enabled: 1, disabled_reason: null })
      .where('id', '=', integration)
      .execute();
    expect(await strict.claim('w1', 10)).toHaveLength(2);
  });

  it('reads new limits when the integration changes version', async () => {
    const integration = await seedIntegration(t.store, owner, { maxConcurrency: 1 });
    await enqueue(t.store, queue, many(integration, 5));
    const [first] = await queue.claim('w1', 10);
    expect(await queue.claim('w1', 10)).toHaveLength(0);
    await complete(first!, 'up');
    await t.store.db
      .insertInto('integration_versions')
      .values({
        integration_id: integration,
        version: 2,
        config: '{}',
        options: JSON.stringify({ timeoutMs: 5000, maxConcurrency: 3 }),
        created_at: clock.ms,
      })
      .execute();
    await t.store.db
      .updateTable('integrations')
      .set({ version: 2 })
      .where('id', '=', integration)
      .execute();
    expect(await queue.claim('w1', 10)).toHaveLength(3);
  });
});
