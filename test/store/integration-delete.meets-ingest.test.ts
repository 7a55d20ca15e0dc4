/**
 * An ingest that read an integration's bindings before its delete committed stores deliveries of
 * the deleted integration after the delete's cancel (on PostgreSQL ingest reads the bindings
 * outside its transaction and takes no lock on the integration). Nothing would ever claim them:
 * the workers' periodic sweep cancels them as the delete would have, in bounded batches, and they
 * leave the queue gauges. The race is played in order here: bindings read, delete committed, then
 * the real ingest with the bindings it read.
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { DeliveryWorker } from '../../src/delivery/worker.js';
import { IntegrationStore } from '../../src/store/integration-store.js';
import { CampaignStore } from '../../src/store/campaign-store.js';
import { EventStore } from '../../src/store/event-store.js';
import { explainDeletedSweep } from '../../src/store/delivery-batch-store.js';
import type { CallEvent } from '../../src/domain/call-event.js';
import { seedIntegration, seedOwner } from '../queue/queue-fixtures.js';

describe.each(DIALECTS)('an ingest racing a delete of its integration on %s', (backend) => {
  let t: TestStore;
  let queue: DeliveryQueue;
  let events: EventStore;
  let integration: string;
  let kept: string;

  beforeEach(async () => {
    t = await createTestStore(backend);
    const owner = await seedOwner(t.store);
    integration = await seedIntegration(t.store, owner);
    kept = await seedIntegration(t.store, owner);
    const campaigns = new CampaignStore(t.store.db);
    await campaigns.create(owner, { id: 'spring', name: 'Spring', type: 'voice' });
    await campaigns.replaceBindings('spring', [
      { integrationId: integration, on: ['call.ended'] },
      { integrationId: kept, on: ['call.ended'] },
    ]);
    queue = new DeliveryQueue(t.store);
    events = new EventStore(t.store.db, queue.enqueue);
  });
  afterEach(async () => {
    await t.destroy();
  });

  /** Reads the bindings, lets the delete commit, then stores `count` events with what it read. */
  const ingestAcrossDelete = async (count: number) => {
    const bindings = await events.campaignBindings(['spring'], undefined);
    expect(await new IntegrationStore(t.store).delete(integration, undefined)).toBe(true);
    const batch = Array.from({ length: count }, (_, i) => {
      const event: CallEvent = {
        id: `e${i}`,
        type: 'call.ended',
        occurredAt: '2026-11-27T10:00:00Z',
        campaignId: 'spring',
        call: { id: `c${i}`, status: 'answered' },
      } as CallEvent;
      return { event, occurredAtMs: Date.parse(event.occurredAt) };
    });
    const result = await events.ingest(batch, bindings);
    expect(result.deliveries).toBe(2 * count);
  };

  const statusesOf = async (integrationId: string) => {
    const rows = await t.store.db
      .selectFrom('deliveries')
      .select(['status', 'last_error'])
      .where('integration_id', '=', integrationId)
      .execute();
    const counts: Record<string, number> = {};
    for (const row of rows) {
      const key = `${row.status} ${row.last_error ?? ''}`.trim();
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  };

  it("a worker's sweep cancels the deleted integration's deliveries the ingest stored", async () => {
    await ingestAcrossDelete(5);
    expect(await statusesOf(integration)).toEqual({ pending: 5 });
    expect((await queue.snapshot()).pending).toBe(10);

    // A worker whose clock moves past the sweep interval (10 s) once it has started.
    let offset = 0;
    const worker = new DeliveryWorker({
      queue,
      pollIntervalMs: 10,
      clock: () => Date.now() + offset,
      execute: () => Promise.reject(new Error('nothing of these is sent in this test')),
    });
    worker.start();
    try {
      offset = 10_000;
      for (let tries = 0; tries < 200; tries += 1) {
        if ((await statusesOf(integration))['pending'] === undefined) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } finally {
      await worker.stop();
    }
    expect(await statusesOf(integration)).toEqual({ 'cancelled integration deleted': 5 });
    // Gone from the queue gauges: only the other integration's deliveries are pending.
    const pending = await t.store.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'pending')
      .where('integration_id', '=', kept)
      .executeTakeFirstOrThrow();
    expect(Number(pending.n)).toBe(5);
    expect((await queue.snapshot()).pending).toBe(5);
  });

  it('cancels in bounded batches, and leaves other integrations alone', async () => {
    // One sweep cancels at most 1,000 (`DELETED_SWEEP_BATCH`).
    const count = 1_200;
    await ingestAcrossDelete(count);
    expect(await queue.sweepDeleted()).toBe(1_000);
    expect(await queue.sweepDeleted()).toBe(200);
    expect(await queue.sweepDeleted()).toBe(0);
    expect(await statusesOf(integration)).toEqual({ 'cancelled integration deleted': count });
    expect(await statusesOf(kept)).toEqual({ pending: count });
    const figures = await queue.snapshot();
    expect(figures.pending).toBe(count);
    expect(figures.held).toBe(0);
  });

  it('looks deleted integrations up one index probe each, not through every pending delivery', async () => {
    // A backlog, some of it of the deleted integration, with statistics taken.
    await ingestAcrossDelete(2_000);
    // The case a plan must not be fooled by: a large backlog of one integration, none of the
    // deleted one (a scan "until the first match" would read the whole backlog).
    while ((await queue.sweepDeleted()) > 0);
    await sql`analyze`.execute(t.store.db);
    const plan = await explainDeletedSweep(t.store.db, integration);
    expect(plan).not.toMatch(/Seq Scan on deliveries|SCAN (d|deliveries)\b(?! USING)/);
    expect(plan.match(/deliveries_lane/g)).toHaveLength(2);
  });
});
