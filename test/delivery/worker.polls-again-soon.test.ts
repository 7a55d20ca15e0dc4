import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { DeliveryWorker } from '../../src/delivery/worker.js';
import { delivery, enqueue, seedIntegration, seedOwner } from '../queue/queue-fixtures.js';

// An empty claim right after busy ones is often a lane another process was claiming from: the
// worker looks again after 5 ms, doubling up to its poll interval, rather than sleeping the whole
// interval; once idle, it polls at the interval. Nothing here calls notify().
describe('a worker after an empty claim', () => {
  let t: TestStore;
  let queue: DeliveryQueue;
  let worker: DeliveryWorker;
  let owner: string;
  let integration: string;
  let claims: number[];
  const delivered: number[] = [];

  beforeEach(async () => {
    t = await createTestStore('sqlite');
    queue = new DeliveryQueue(t.store);
    claims = [];
    delivered.length = 0;
    const claim = queue.claim.bind(queue);
    queue.claim = (id, max) => {
      claims.push(performance.now());
      return claim(id, max);
    };
    worker = new DeliveryWorker({
      queue,
      pollIntervalMs: 2_000,
      execute: async () => {
        delivered.push(performance.now());
        return {
          outcome: { kind: 'response', status: 200, headers: [], body: '', durationMs: 1 },
          integrationVersion: 1,
          request: null,
        };
      },
    });
    owner = await seedOwner(t.store);
    integration = await seedIntegration(t.store, owner);
  });
  afterEach(async () => {
    await worker.stop();
    await t.destroy();
  });

  const waitFor = async (done: () => boolean, ms: number) => {
    const until = performance.now() + ms;
    while (!done() && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  };

  it('picks up work that arrives just after a busy claim within milliseconds, not a poll interval', async () => {
    await enqueue(t.store, queue, [delivery(owner, integration)]);
    worker.start();
    await waitFor(() => delivered.length === 1, 1_000);
    expect(delivered).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 30));
    const enqueuedAt = performance.now();
    await enqueue(t.store, queue, [delivery(owner, integration)]);
    await waitFor(() => delivered.length === 2, 2_500);
    expect(delivered).toHaveLength(2);
    // The backoff after 30 ms of empty claims is at most 40 ms; the poll interval is 2 s.
    expect(delivered[1]! - enqueuedAt).toBeLessThan(500);
  });

  it('backs off to the poll interval while nothing comes', async () => {
    worker.start();
    await new Promise((r) => setTimeout(r, 1_200));
    // Idle from the start: one claim, then the next only after the 2 s interval.
    expect(claims).toHaveLength(1);
    await enqueue(t.store, queue, [delivery(owner, integration)]);
    await waitFor(() => delivered.length === 1, 3_000);
    const afterWork = claims.length;
    await new Promise((r) => setTimeout(r, 1_000));
    // After work: 5, 10, 20, 40, 80, 160, 320 ms… capped at the interval; about 8 claims in 1 s.
    const empty = claims.length - afterWork;
    expect(empty).toBeGreaterThanOrEqual(4);
    expect(empty).toBeLessThanOrEqual(10);
  });
});
