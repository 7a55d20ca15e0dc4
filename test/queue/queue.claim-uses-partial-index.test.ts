import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { delivery, enqueue, seedIntegration, seedOwner } from './queue-fixtures.js';

describe.each(DIALECTS)('the claim statement on %s', (backend) => {
  let t: TestStore;
  let queue: DeliveryQueue;
  let busy: string;

  beforeAll(async () => {
    t = await createTestStore(backend);
    queue = new DeliveryQueue(t.store);
    const owner = await seedOwner(t.store);
    busy = await seedIntegration(t.store, owner);
    const other = await seedIntegration(t.store, owner);
    for (let i = 0; i < 10; i += 1) {
      await enqueue(
        t.store,
        queue,
        Array.from({ length: 1_000 }, (_, n) =>
          delivery(owner, n % 10 === 0 ? other : busy, {
            orderingKey: `call:${i}-${n}`,
            sequence: n,
          }),
        ),
      );
    }
    // Finished history the claim must not walk through.
    await t.store.db
      .updateTable('deliveries')
      .set({ status: 'succeeded' })
      .where('integration_id', '=', other)
      .execute();
    await sql.raw(backend === 'postgres' ? 'analyze deliveries' : 'analyze').execute(t.store.db);
  });
  afterAll(async () => {
    await t.destroy();
  });

  it('walks a partial index of pending rows and the ordering index, never the whole table', async () => {
    const plan = await queue.explainClaim(busy);
    // Either partial index on pending rows; the planner picks by statistics.
    expect(plan).toMatch(/deliveries_(lane|claim)/);
    expect(plan).toContain('deliveries_ordering');
    expect(plan).not.toMatch(/Seq Scan on deliveries|SCAN d\b(?! USING)/);
  });
});
