import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { DeliveryWorker } from '../../src/delivery/worker.js';
import { median } from '../../bench/stats.js';
import { delivery, enqueue, seedIntegration, seedOwner } from '../queue/queue-fixtures.js';
import { startReceiver, undiciExecute, type Receiver } from './delivery-fixtures.js';

const DEAD_TIMEOUT_MS = 400;

describe.each(DIALECTS)('a dead endpoint next to a healthy one on %s', (backend) => {
  let t: TestStore;
  let healthy: Receiver;
  let dead: http.Server;
  let deadUrl: string;
  let deadAsked = 0;
  let worker: DeliveryWorker | undefined;

  beforeEach(async () => {
    t = await createTestStore(backend);
    healthy = await startReceiver();
    // Accepts connections and never answers: every request times out.
    deadAsked = 0;
    dead = http.createServer(() => void (deadAsked += 1));
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/hook`;
  });
  afterEach(async () => {
    await worker?.stop();
    await healthy.close();
    dead.closeAllConnections();
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    await t.destroy();
  });

  it("keeps the healthy one's latency flat", async () => {
    const queue = new DeliveryQueue(t.store);
    const owner = await seedOwner(t.store);
    const good = await seedIntegration(t.store, owner);
    const bad = await seedIntegration(t.store, owner);
    const urls = new Map([
      [good, `${healthy.url}/hook`],
      [bad, deadUrl],
    ]);
    worker = new DeliveryWorker({
      queue,
      execute: undiciExecute((id) => urls.get(id)!, DEAD_TIMEOUT_MS),
      pollIntervalMs: 20,
    });
    worker.start();

    /** Enqueues one healthy delivery at a time; answers enqueue-to-received latencies (ms). */
    const measure = async (count: number, gapMs: number): Promise<number[]> => {
      const latencies: number[] = [];
      for (let i = 0; i < count; i += 1) {
        const before = healthy.received.length;
        const sent = Date.now();
        await enqueue(t.store, queue, [delivery(owner, good)]);
        worker!.notify();
        while (healthy.received.length === before) await new Promise((r) => setTimeout(r, 2));
        latencies.push(healthy.received.at(-1)!.at - sent);
        await new Promise((r) => setTimeout(r, gapMs));
      }
      return latencies;
    };

    const alone = await measure(15, 10);
    await enqueue(
      t.store,
      queue,
      Array.from({ length: 300 }, () => delivery(owner, bad)),
    );
    worker.notify();
    // Measured while the dead one's requests hang and time out (and its circuit opens).
    const beside = await measure(20, 40);
    // The dead one was being tried while the healthy one was measured: its requests were out.
    expect(deadAsked).toBeGreaterThan(0);

    // And they timed out, each recorded as an attempt (after its 400 ms, through the group
    // commit: on a loaded machine, possibly after the measurement ended).
    const attempted = async () => {
      const row = await t.store.db
        .selectFrom('attempts')
        .innerJoin('deliveries', 'deliveries.id', 'attempts.delivery_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('deliveries.integration_id', '=', bad)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    };
    await expect.poll(attempted, { timeout: 5_000 }).toBeGreaterThan(0);
    // Never waiting behind a dead request: well under its timeout, and near the baseline.
    expect(Math.max(...beside)).toBeLessThan(DEAD_TIMEOUT_MS);
    expect(median(beside)).toBeLessThan(median(alone) + 50);
  });
});
