import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestStore } from '../helpers/store.js';
import type { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { DeliveryWorker, type ExecuteResult } from '../../src/delivery/worker.js';
import type { DeliveryOutcome } from '../../src/delivery/outcome.js';
import { attemptsOf, delivery, enqueue, seedQueue, statusOf } from '../queue/queue-fixtures.js';

// stop() lets in-flight deliveries finish for its grace period, then aborts them. What the abort
// cut short is given back unattempted; what the remote answered anyway is recorded.
describe('a worker stopping past its grace period', () => {
  let t: TestStore;
  let queue: DeliveryQueue;
  let owner: string;
  let integration: string;

  beforeEach(async () => {
    ({ t, queue, owner, integration } = await seedQueue('sqlite'));
  });
  afterEach(async () => {
    await t.destroy();
  });

  /** Runs one delivery whose execute waits for the stop's abort, then answers `outcome`. */
  async function stopDuring(outcome: DeliveryOutcome): Promise<string> {
    const item = delivery(owner, integration);
    await enqueue(t.store, queue, [item]);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const worker = new DeliveryWorker({
      queue,
      stopGraceMs: 50,
      execute: (_delivery, signal) =>
        new Promise<ExecuteResult>((resolve) => {
          started();
          signal.addEventListener('abort', () =>
            resolve({ outcome, integrationVersion: 1, request: { url: 'http://x/' } }),
          );
        }),
    });
    worker.start();
    await running;
    await worker.stop();
    return item.id;
  }

  it('gives a delivery the abort cut short back, due at once, with no attempt counted', async () => {
    const id = await stopDuring({ kind: 'timeout', message: 'aborted', durationMs: 50 });
    expect(await attemptsOf(t.store, id)).toEqual([]);
    const row = await statusOf(t.store, id);
    expect(row).toMatchObject({ status: 'pending', lease_owner: null, attempts: 0 });
  });

  it('records an attempt the remote answered although the stop aborted it', async () => {
    const id = await stopDuring({ kind: 'response', status: 200, headers: [], durationMs: 50 });
    const attempts = await attemptsOf(t.store, id);
    expect(attempts.map((attempt) => attempt.outcome)).toEqual(['succeeded']);
    expect((await statusOf(t.store, id)).status).toBe('succeeded');
  });
});
