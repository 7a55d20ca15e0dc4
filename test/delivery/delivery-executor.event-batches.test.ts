import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import { seedOwner } from '../queue/queue-fixtures.js';
import { EventStore } from '../../src/store/event-store.js';

// A worker's batch of deliveries reads its events in one query (the delivery executor batches
// them with a DataLoader): every event comes back in the order asked, per owner, and one that
// retention pruned comes back undefined (the delivery then fails with "no longer stored").
describe.each(DIALECTS)('reading a batch of events on %s', (backend) => {
  let t: TestStore;
  let events: EventStore;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    t = await createTestStore(backend);
    events = new EventStore(t.store.db, async () => undefined);
    alice = await seedOwner(t.store);
    bob = await seedOwner(t.store);
    const row = (owner: string, id: string) => ({
      owner_id: owner,
      id,
      type: 'call.ended',
      campaign_id: 'c1',
      call_id: `call-${id}`,
      occurred_at: 1,
      payload: JSON.stringify({ id, owner }),
      received_at: 1,
    });
    await t.store.db
      .insertInto('events')
      .values([row(alice, 'e1'), row(alice, 'e2'), row(bob, 'e1'), ...bigBatch(alice)])
      .execute();
  });
  afterAll(async () => {
    await t.destroy();
  });

  const bigBatch = (owner: string) =>
    Array.from({ length: 900 }, (_, i) => ({
      owner_id: owner,
      id: `big-${i}`,
      type: 'call.ended',
      campaign_id: 'c1',
      call_id: null,
      occurred_at: 1,
      payload: JSON.stringify({ id: `big-${i}`, owner }),
      received_at: 1,
    }));

  it('answers in the order asked, per owner, undefined for a pruned one', async () => {
    const found = await events.findMany([
      { ownerId: bob, id: 'e1' },
      { ownerId: alice, id: 'gone' },
      { ownerId: alice, id: 'e2' },
      { ownerId: alice, id: 'e1' },
      { ownerId: bob, id: 'e2' },
    ]);
    expect(found).toEqual([
      { id: 'e1', owner: bob },
      undefined,
      { id: 'e2', owner: alice },
      { id: 'e1', owner: alice },
      undefined,
    ]);
  });

  it('reads more events than one statement carries', async () => {
    const keys = Array.from({ length: 900 }, (_, i) => ({ ownerId: alice, id: `big-${899 - i}` }));
    const found = await events.findMany(keys);
    expect(found.map((e) => (e as { id: string } | undefined)?.id)).toEqual(keys.map((k) => k.id));
  });
});
