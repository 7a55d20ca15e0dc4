import { afterEach, describe, expect, it } from 'vitest';
import { createUserWithIntegration } from '../helpers/fixtures.js';
import { DIALECTS, createTestStore, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { BLOCKED_AT } from '../../src/store/delivery-store.js';

describe.each(DIALECTS)('parked deliveries nothing would release, on %s', (backend) => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.destroy();
    t = undefined;
  });

  it('are made due by the sweep; ones still behind a pending delivery stay parked', async () => {
    t = await createTestStore(backend);
    const { user, integration } = await createUserWithIntegration(t.store);
    const queue = new DeliveryQueue(t.store);
    const base = { ownerId: user.id, integrationId: integration.id };
    await t.store.db.transaction().execute((trx) =>
      queue.enqueue(trx, [
        { ...base, id: 'a1', orderingKey: 'call:a', sequence: 1 },
        { ...base, id: 'a2', orderingKey: 'call:a', sequence: 2 },
        { ...base, id: 'b2', orderingKey: 'call:b', sequence: 2 },
      ]),
    );
    // The race the sweep heals: b2 parked although nothing earlier of call b is pending.
    await t.store.db
      .updateTable('deliveries')
      .set({ next_attempt_at: BLOCKED_AT })
      .where('id', '=', 'b2')
      .execute();

    expect(await queue.sweepParked()).toBe(1);
    const rows = await t.store.db
      .selectFrom('deliveries')
      .select(['id', 'next_attempt_at'])
      .orderBy('id')
      .execute();
    const parked = rows.filter((r) => Number(r.next_attempt_at) === BLOCKED_AT).map((r) => r.id);
    expect(parked).toEqual(['a2']);
    expect(await queue.sweepParked()).toBe(0);
  });
});
