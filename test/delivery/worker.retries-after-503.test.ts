import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, type TestStore } from '../helpers/store.js';
import type { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { DeliveryWorker } from '../../src/delivery/worker.js';
import {
  FakeClock,
  attemptsOf,
  delivery,
  enqueue,
  laneOf,
  replayAsJob,
  seedQueue,
  statusOf,
} from '../queue/queue-fixtures.js';
import { startReceiver, undiciExecute, type Receiver } from './delivery-fixtures.js';

describe.each(DIALECTS)('worker against a real endpoint on %s', (backend) => {
  let t: TestStore;
  let clock: FakeClock;
  let queue: DeliveryQueue;
  let receiver: Receiver;
  let worker: DeliveryWorker;
  let owner: string;
  let integration: string;

  beforeEach(async () => {
    clock = new FakeClock();
    ({ t, queue, owner, integration } = await seedQueue(backend, { clock: clock.now }));
    receiver = await startReceiver();
    worker = new DeliveryWorker({
      queue,
      execute: undiciExecute(() => `${receiver.url}/hook`),
      clock: clock.now,
      random: () => 0.5,
    });
  });
  afterEach(async () => {
    await worker.stop();
    await receiver.close();
    await t.destroy();
  });

  it('retries after 503, 503 and succeeds on 200: 3 attempts, one Idempotency-Key', async () => {
    const statuses = [503, 503, 200];
    receiver.answer = (_req, res) => res.writeHead(statuses.shift() ?? 500).end('try later');
    const item = delivery(owner, integration);
    await enqueue(t.store, queue, [item]);

    expect(await worker.runOnce()).toBe(1);
    expect(await worker.runOnce()).toBe(0);
    clock.advance(5_000);
    expect(await worker.runOnce()).toBe(1);
    clock.advance(299_000);
    expect(await worker.runOnce()).toBe(0);
    clock.advance(1_000);
    expect(await worker.runOnce()).toBe(1);

    const row = await statusOf(t.store, item.id);
    expect(row.status).toBe('succeeded');
    expect(row.attempts).toBe(3);
    const attempts = await attemptsOf(t.store, item.id);
    expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'retry'],
      [2, 'retry'],
      [3, 'succeeded'],
    ]);
    expect(attempts.map((a) => JSON.parse(a.response!).status)).toEqual([503, 503, 200]);
    expect(JSON.parse(attempts[0]!.response!).body).toBe('try later');
    expect(attempts[0]!.error).toBe('HTTP 503');
    expect(JSON.parse(attempts[0]!.request).headers['idempotency-key']).toBe(item.id);
    expect(receiver.received.map((r) => r.headers['idempotency-key'])).toEqual([
      item.id,
      item.id,
      item.id,
    ]);
  });

  it('waits as long as a 429 Retry-After asks', async () => {
    let first = true;
    receiver.answer = (_req, res) => {
      if (first) res.writeHead(429, { 'retry-after': '120' }).end();
      else res.writeHead(200).end();
      first = false;
    };
    const item = delivery(owner, integration);
    await enqueue(t.store, queue, [item]);
    await worker.runOnce();
    const row = await statusOf(t.store, item.id);
    expect(row.next_attempt_at - clock.ms).toBeGreaterThanOrEqual(120_000);
    clock.advance(119_000);
    expect(await worker.runOnce()).toBe(0);
    clock.advance(30_000);
    expect(await worker.runOnce()).toBe(1);
    expect((await statusOf(t.store, item.id)).status).toBe('succeeded');
  });

  it('a status listed in successStatuses is the remote up: 503 as success never opens the circuit', async () => {
    const plain = undiciExecute(() => `${receiver.url}/hook`);
    const succeeding = new DeliveryWorker({
      queue,
      execute: async (claimed, signal) => ({
        ...(await plain(claimed, signal)),
        options: { successStatuses: [200, 503] },
      }),
      clock: clock.now,
      random: () => 0.5,
    });
    receiver.answer = (_req, res) => res.writeHead(503).end('accepted, in our own words');
    // More than the circuit's threshold (5), each a success.
    const items = Array.from({ length: 7 }, () => delivery(owner, integration));
    await enqueue(t.store, queue, items);
    expect(await succeeding.runOnce()).toBe(7);
    await succeeding.stop();
    for (const item of items) expect((await statusOf(t.store, item.id)).status).toBe('succeeded');
    const lane = await laneOf(t.store, integration);
    expect([lane.circuit, lane.consecutive_failures, lane.failing_since]).toEqual([
      'closed',
      0,
      null,
    ]);
  });

  it('fails a 4xx at once, with the reason', async () => {
    receiver.answer = (_req, res) => res.writeHead(404).end('no such hook');
    const item = delivery(owner, integration);
    await enqueue(t.store, queue, [item]);
    await worker.runOnce();
    const row = await statusOf(t.store, item.id);
    expect(row.status).toBe('failed');
    expect(row.last_status).toBe(404);
    expect(row.last_error).toBe('HTTP 404 is not retried');
    expect(row.completed_at).toBe(clock.ms);
    expect(await attemptsOf(t.store, item.id)).toHaveLength(1);
  });

  it('replays failed deliveries of an integration since a time', async () => {
    receiver.answer = (_req, res) => res.writeHead(400).end();
    const items = [delivery(owner, integration), delivery(owner, integration)];
    await enqueue(t.store, queue, items);
    await worker.runOnce();
    receiver.answer = (_req, res) => res.writeHead(200).end();
    const since = clock.ms - 60_000;
    expect(
      await replayAsJob(t.store, { ownerId: owner, integrationId: integration, since }, clock.now),
    ).toBe(2);
    await worker.runOnce();
    for (const item of items) {
      expect((await statusOf(t.store, item.id)).status).toBe('succeeded');
      expect((await attemptsOf(t.store, item.id)).map((a) => a.outcome)).toEqual([
        'failed',
        'succeeded',
      ]);
    }
  });
});
