import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { explainSweep } from '../../src/store/delivery-batch-store.js';
import { BLOCKED_AT } from '../../src/store/delivery-store.js';
import { countLeasedQuery } from '../../src/store/lane-store.js';
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

  it('counts the deliveries in flight through deliveries_leased, not the pending backlog', async () => {
    // A select builder would be put in parentheses inside `explain`: run the compiled text.
    const query = countLeasedQuery(t.store.db, [busy], Date.now()).compile();
    const explain = backend === 'postgres' ? 'explain ' : 'explain query plan ';
    const { rows } = await t.store.db.executeQuery<Record<string, string>>(
      CompiledQuery.raw(explain + query.sql, [...query.parameters]),
    );
    const plan = rows.map((row) => row['QUERY PLAN'] ?? row['detail']).join('\n');
    expect(plan).toContain('deliveries_leased');
    expect(plan).not.toMatch(/Seq Scan on deliveries|SCAN deliveries\b(?! USING)/);
  });
});

// A queue table changes faster than its statistics: analyzed while nearly empty, then a burst of
// 10 k arrives. PostgreSQL then estimates one pending row everywhere; the per-call ordering check
// must still be one probe of the ordering index per candidate, not a walk of the integration's
// pending rows per candidate (which cost 0.2–1 s per claim at 20 k pending).
describe.each(DIALECTS)('the claim statement on %s with stale statistics', (backend) => {
  let t: TestStore;
  let queue: DeliveryQueue;
  let integration: string;

  beforeAll(async () => {
    t = await createTestStore(backend);
    queue = new DeliveryQueue(t.store);
    const owner = await seedOwner(t.store);
    integration = await seedIntegration(t.store, owner);
    const burst = (from: number, count: number) =>
      enqueue(
        t.store,
        queue,
        Array.from({ length: count }, (_, n) =>
          delivery(owner, integration, { orderingKey: `call:${from + n}`, sequence: 1 }),
        ),
      );
    await burst(0, 3);
    await sql.raw(backend === 'postgres' ? 'analyze deliveries' : 'analyze').execute(t.store.db);
    for (let i = 1; i <= 10; i += 1) await burst(i * 1_000, 1_000);
  });
  afterAll(async () => {
    await t.destroy();
  });

  it('checks each candidate with the ordering index', async () => {
    const plan = await queue.explainClaim(integration);
    const probe =
      backend === 'postgres'
        ? /Index (Only )?Scan using deliveries_ordering on deliveries\b/
        : /SEARCH earlier USING (COVERING )?INDEX deliveries_ordering \(<expr>=\?/;
    expect(plan).toMatch(probe);
    expect(plan).not.toMatch(/Anti Join|SubPlan|Seq Scan|Bitmap|SCAN (d|earlier)\b(?! USING)/);
  });
});

// The sweep of parked deliveries (every 10 s per worker, holding the write lock) reads only the
// parked ones, through `deliveries_parked`, however many others are pending.
describe.each(DIALECTS)('the sweep of parked deliveries on %s', (backend) => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore(backend);
    const queue = new DeliveryQueue(t.store);
    const owner = await seedOwner(t.store);
    const integration = await seedIntegration(t.store, owner);
    // 5,000 pending, one in ten parked behind the one before it, of the same call.
    await enqueue(
      t.store,
      queue,
      Array.from({ length: 5_000 }, (_, n) =>
        delivery(owner, integration, {
          orderingKey: `call:${n % 10 === 9 ? n - 1 : n}`,
          sequence: n,
        }),
      ),
    );
    const parked = await t.store.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('next_attempt_at', '=', BLOCKED_AT)
      .executeTakeFirstOrThrow();
    expect(Number(parked.n)).toBe(500);
    await sql.raw(backend === 'postgres' ? 'analyze deliveries' : 'analyze').execute(t.store.db);
  });
  afterAll(async () => {
    await t.destroy();
  });

  it('reads the parked deliveries through deliveries_parked, not every pending one', async () => {
    const plan = await explainSweep(t.store.db);
    expect(plan).toContain('deliveries_parked');
    // The parked rows are the driving side; how the check of each one's earlier deliveries is
    // joined is the planner's choice (a hash anti-join over pending rows at this size).
    expect(plan).not.toMatch(/Seq Scan on deliveries(?! earlier)|SCAN deliveries\b(?! USING)/);
  });
});
