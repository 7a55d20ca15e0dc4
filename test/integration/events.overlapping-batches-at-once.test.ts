/**
 * Batches sharing event ids, stored at the same time (a dialer retrying a batch that timed out
 * while the first copy is still being stored, regrouped): each id is accepted once, and no batch
 * fails. On PostgreSQL, `insert … on conflict do nothing` waits for a row another transaction has
 * inserted and not committed; two transactions inserting the same ids in different orders waited
 * for each other, and one was rolled back as a deadlock (a 503 for its batch).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { EventStore } from '../../src/store/event-store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { parseTimestamp, type CallEvent } from '../../src/domain/call-event.js';

describe.each(DIALECTS)('overlapping batches stored at once on %s', (backend) => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('accepts each id once, whatever order each batch has them in', async () => {
    p = await createPipeline(backend);
    const store = p.t.store.store;
    const events = new EventStore(store.db, new DeliveryQueue(store).enqueue);
    const campaigns = await events.campaignBindings(['spring'], undefined);
    for (let round = 0; round < 4; round += 1) {
      const ids = Array.from({ length: 1000 }, (_, i) => `r${round}-${i}`);
      // The same ids in an order of its own per batch: rotated, every other one reversed.
      const batches = Array.from({ length: 6 }, (_, k) => {
        const rotated = [...ids.slice(k * 150), ...ids.slice(0, k * 150)];
        return (k % 2 === 0 ? rotated : rotated.reverse()).map((id) => {
          const event = callEvent(id) as CallEvent;
          return { event, occurredAtMs: parseTimestamp(event.occurredAt)! };
        });
      });
      const results = await Promise.allSettled(batches.map((b) => events.ingest(b, campaigns)));
      const failures = results.flatMap((r) =>
        r.status === 'rejected' ? [String((r.reason as Error).message)] : [],
      );
      expect(failures, `round ${round}`).toEqual([]);
      const accepted = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.accepted : []));
      expect(accepted.sort()).toEqual([...ids].sort());
    }
    const deliveries = await store.db.selectFrom('deliveries').select('event_id').execute();
    expect(deliveries).toHaveLength(4000);
  });
});
