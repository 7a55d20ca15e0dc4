import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { requeueFailed } from '../../src/store/delivery-actions.js';
import { pruneHistory } from '../../src/store/retention-store.js';
import {
  clockedQueue,
  FakeClock,
  attemptRecord,
  delivery,
  enqueue,
  replayAsJob,
  seedIntegration,
  statusOf,
} from './queue-fixtures.js';

// A delivery of kind `event` renders its stored event: once retention pruned it, retry and
// replay leave the delivery failed (it would fail again at once) and say why.
describe.each(DIALECTS)('retrying a delivery whose event was pruned on %s', (backend) => {
  let t: TestStore;
  let clock: FakeClock;
  let queue: DeliveryQueue;
  let owner: string;
  let integration: string;

  const storeEvent = (id: string) =>
    t.store.db
      .insertInto('events')
      .values({
        owner_id: owner,
        id,
        type: 'call.ended',
        campaign_id: 'campaign-1',
        call_id: null,
        occurred_at: clock.ms,
        payload: '{}',
        received_at: clock.ms,
      })
      .execute();
  /** A failed delivery of a stored event `eventId`. */
  const failedDelivery = async (eventId: string) => {
    await storeEvent(eventId);
    const item = delivery(owner, integration, { eventId });
    await enqueue(t.store, queue, [item]);
    const [claim] = await queue.claim('w1', 1);
    await queue.complete(claim!, {
      decision: { kind: 'failed', reason: 'HTTP 400' },
      health: 'up',
      record: attemptRecord(clock.ms),
      lastStatus: 400,
      error: 'HTTP 400',
    });
    expect((await statusOf(t.store, item.id)).status).toBe('failed');
    return item;
  };
  const eventStored = async (id: string) =>
    (await t.store.db.selectFrom('events').select('id').where('id', '=', id).executeTakeFirst()) !==
    undefined;

  beforeEach(async () => {
    ({ t, clock, queue, owner } = await clockedQueue(backend));
    integration = await seedIntegration(t.store, owner);
  });
  afterEach(async () => {
    await t.destroy();
  });

  it('leaves it failed and says the event was pruned', async () => {
    const item = await failedDelivery('e1');
    await pruneHistory(t.store.db, clock.ms + 1);
    expect(await eventStored('e1')).toBe(false);
    expect(await queue.retryNow(item.id)).toBe(false);
    expect((await statusOf(t.store, item.id)).status).toBe('failed');
    const row = await statusOf(t.store, item.id);
    expect(
      await queue.whyNotRetried({
        id: row.id,
        ownerId: row.owner_id,
        integrationId: row.integration_id,
        kind: row.kind,
        status: row.status,
        eventId: row.event_id,
      }),
    ).toBe(
      `delivery ${item.id}'s event e1 is no longer stored (pruned after the retention period): nothing to send`,
    );
  });

  it('replays only the deliveries whose event is still stored', async () => {
    const pruned = await failedDelivery('e1');
    await pruneHistory(t.store.db, clock.ms + 1);
    clock.advance(1_000);
    const kept = await failedDelivery('e2');
    expect(
      await replayAsJob(
        t.store,
        { ownerId: owner, integrationId: integration, since: 0 },
        clock.now,
      ),
    ).toBe(1);
    expect((await statusOf(t.store, pruned.id)).status).toBe('failed');
    expect((await statusOf(t.store, kept.id)).status).toBe('pending');
  });

  it.runIf(backend === 'postgres')(
    'a prune running while a retry commits leaves the event of the delivery it made pending',
    async () => {
      const item = await failedDelivery('e1');
      let commit!: () => void;
      const committing = new Promise<void>((resolve) => (commit = resolve));
      let requeued!: () => void;
      const moved = new Promise<void>((resolve) => (requeued = resolve));
      const retry = t.store.db.transaction().execute(async (trx) => {
        expect(await requeueFailed(trx, { id: item.id }, undefined, clock.ms)).toEqual([item.id]);
        requeued();
        await committing;
      });
      await moved;
      const pruning = pruneHistory(t.store.db, clock.ms + 1);
      // Let the prune reach the event while the retry is still open, then commit the retry.
      await new Promise((resolve) => setTimeout(resolve, 300));
      commit();
      await retry;
      await pruning;
      expect((await statusOf(t.store, item.id)).status).toBe('pending');
      expect(await eventStored('e1')).toBe(true);
    },
  );

  it.runIf(backend === 'postgres')(
    'a retry waiting on a prune that deletes the event leaves the delivery failed',
    async () => {
      const item = await failedDelivery('e1');
      // The prune holds the event locked (its first statement) while the retry runs.
      const pruner = await t.store.db.transaction().execute(async (trx) => {
        const locked = await trx
          .selectFrom('events')
          .select('id')
          .where('id', '=', 'e1')
          .forUpdate()
          .execute();
        expect(locked).toHaveLength(1);
        const retrying = queue.retryNow(item.id);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await trx.deleteFrom('events').where('id', '=', 'e1').execute();
        return { retrying };
      });
      expect(await pruner.retrying).toBe(false);
      expect((await statusOf(t.store, item.id)).status).toBe('failed');
    },
  );
});
