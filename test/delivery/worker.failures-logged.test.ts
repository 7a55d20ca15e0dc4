import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestStore } from '../helpers/store.js';
import { createLogger } from '../../src/logger.js';
import type { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { DeliveryWorker, type WorkerOptions } from '../../src/delivery/worker.js';
import { attemptsOf, delivery, enqueue, seedQueue, statusOf } from '../queue/queue-fixtures.js';

interface Line {
  level: number;
  msg: string;
  deliveryId?: string;
  integrationId?: string;
  err?: { message: string };
  reason?: string;
}

// What a worker does when its own steps fail: an `execute` that throws is an attempt like a
// network error, and a completion that cannot be stored leaves the delivery to its lease. Both
// are logged with the delivery and integration they concern.
describe('a worker whose execute or completion fails', () => {
  let t: TestStore;
  let queue: DeliveryQueue;
  let worker: DeliveryWorker | undefined;
  let owner: string;
  let integration: string;
  let lines: Line[];

  beforeEach(async () => {
    ({ t, queue, owner, integration } = await seedQueue('sqlite'));
    lines = [];
  });
  afterEach(async () => {
    await worker?.stop();
    await t.destroy();
  });

  const start = (execute: WorkerOptions['execute']) => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Line);
        done();
      },
    });
    worker = new DeliveryWorker({ queue, execute, logger: createLogger('info', sink) });
    worker.start();
  };
  const waitFor = async (done: () => boolean | Promise<boolean>, ms: number) => {
    const until = performance.now() + ms;
    while (!(await done()) && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  };

  it('records a throwing execute as a retryable attempt and logs it with the delivery', async () => {
    const item = delivery(owner, integration);
    await enqueue(t.store, queue, [item]);
    start(() => Promise.reject(new Error('renderer blew up')));
    await waitFor(async () => (await attemptsOf(t.store, item.id)).length === 1, 3_000);

    const [attempt] = await attemptsOf(t.store, item.id);
    expect(attempt?.outcome).toBe('retry');
    expect(attempt?.error).toContain('renderer blew up');
    expect((await statusOf(t.store, item.id)).status).toBe('pending');
    const line = lines.find((l) => l.msg === 'delivery execute threw');
    expect(line).toMatchObject({
      level: 50,
      deliveryId: item.id,
      integrationId: integration,
      err: { message: 'renderer blew up' },
    });
  });

  it('logs a completion that cannot be stored, and leaves the delivery under its lease', async () => {
    const item = delivery(owner, integration);
    await enqueue(t.store, queue, [item]);
    queue.completeMany = () => Promise.reject(new Error('disk I/O error'));
    start(() =>
      Promise.resolve({
        outcome: { kind: 'response', status: 200, headers: [], body: '', durationMs: 1 },
        integrationVersion: 1,
        request: null,
      }),
    );
    await waitFor(
      () => lines.some((l) => l.msg === 'recording the delivery attempt failed'),
      3_000,
    );

    expect(lines.find((l) => l.msg === 'recording the delivery attempt failed')).toMatchObject({
      level: 50,
      deliveryId: item.id,
      integrationId: integration,
      err: { message: 'disk I/O error' },
    });
    const row = await statusOf(t.store, item.id);
    expect(row.status).toBe('pending');
    expect(row.lease_owner).not.toBeNull();
    expect(await attemptsOf(t.store, item.id)).toEqual([]);
  });

  it('logs an integration its failures disabled, with the reason', async () => {
    await t.destroy();
    ({ t, queue, owner, integration } = await seedQueue('sqlite', {
      lanes: { autoDisable: { afterFailures: 2, afterMs: 0 } },
    }));
    const items = [delivery(owner, integration), delivery(owner, integration)];
    await enqueue(t.store, queue, items);
    start(() =>
      Promise.resolve({
        outcome: { kind: 'response', status: 503, headers: [], body: '', durationMs: 1 },
        integrationVersion: 1,
        request: null,
      }),
    );
    await waitFor(() => lines.some((l) => l.msg === 'integration disabled'), 3_000);

    const row = await t.store.db
      .selectFrom('integrations')
      .select(['enabled', 'disabled_reason'])
      .where('id', '=', integration)
      .executeTakeFirstOrThrow();
    expect(row.enabled).toBe(0);
    expect(lines.find((l) => l.msg === 'integration disabled')).toMatchObject({
      level: 40,
      integrationId: integration,
      reason: row.disabled_reason,
    });
  });

  it('logs claims failing while the store is down once, and once more when they work again', async () => {
    const db = t.store.db;
    await sql`alter table delivery_lanes rename to delivery_lanes_away`.execute(db);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Line);
        done();
      },
    });
    worker = new DeliveryWorker({
      queue,
      execute: () => Promise.reject(new Error('nothing is claimed')),
      logger: createLogger('info', sink),
      pollIntervalMs: 10,
    });
    worker.start();
    // Dozens of claims fail meanwhile, one every 10 ms.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sql`alter table delivery_lanes_away rename to delivery_lanes`.execute(db);
    await waitFor(() => lines.some((l) => l.msg === 'claiming deliveries works again'), 3_000);
    await worker.stop();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [50, 'claiming deliveries failed'],
      [30, 'claiming deliveries works again'],
    ]);
    expect(lines[0]!.err?.message).toMatch(/delivery_lanes/);
    expect((lines[1] as Line & { failures: number }).failures).toBeGreaterThan(5);
  });
});
