import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, postgresUrlWithSchema, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { delivery, enqueue, seedIntegration, seedOwner } from '../queue/queue-fixtures.js';
import { startReceiver, type Receiver } from './delivery-fixtures.js';

const WORKER = path.resolve('test/delivery/fixtures/worker-process.ts');

describe('concurrency limit across worker processes on postgres', () => {
  let t: TestStore;
  let receiver: Receiver;
  let children: ChildProcess[] = [];

  beforeEach(async () => {
    t = await createTestStore('postgres');
    receiver = await startReceiver();
  });
  afterEach(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin?.end();
        await once(child, 'exit');
      }
    }
    children = [];
    await receiver.close();
    await t.destroy();
  });

  it('holds a limit of 2 with 3 worker processes', async () => {
    let inFlight = 0;
    let most = 0;
    receiver.answer = (_req, res) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight -= 1;
        res.writeHead(200).end('{}');
      }, 40);
    };
    const queue = new DeliveryQueue(t.store);
    const owner = await seedOwner(t.store);
    const integration = await seedIntegration(t.store, owner, { maxConcurrency: 2 });
    const items = Array.from({ length: 30 }, () => delivery(owner, integration));
    await enqueue(t.store, queue, items);

    const url = postgresUrlWithSchema(t.location);
    children = [1, 2, 3].map(() =>
      // One delivery in flight per process: reaching the limit of 2 takes two processes at once,
      // and a third must be kept out by the shared lane, not by its own worker.
      spawn(process.execPath, ['--import', 'tsx', WORKER, url, `${receiver.url}/hook`, '1'], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    await Promise.all(children.map((child) => once(child.stdout!, 'data')));

    const deadline = Date.now() + 20_000;
    let done = 0;
    while (done < items.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const row = await t.store.db
        .selectFrom('deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'succeeded')
        .executeTakeFirstOrThrow();
      done = Number(row.n);
    }
    expect(done).toBe(items.length);
    expect(most).toBe(2);
    expect(receiver.received).toHaveLength(items.length);
    // More than one process took part (they share the lane, one claim at a time).
    const pids = new Set(receiver.received.map((r) => r.headers['x-worker-pid']));
    expect(pids.size).toBeGreaterThan(1);
  });
});
