import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { pruneActivity, pruneHistory } from '../../src/store/retention-store.js';
import { QueueSampler } from '../../src/store/queue-history.js';
import { ActivityRecorder } from '../../src/store/activity-store.js';

describe.each(DIALECTS)('retention on %s', (backend) => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('prunes old attempts and events, keeping events a pending delivery still needs', async () => {
    p = await createPipeline(backend);
    await p.post('/api/v1/events', { events: [callEvent('done'), callEvent('waiting')] });
    const db = p.t.store.store.db;
    const waiting = await db
      .selectFrom('deliveries')
      .select('id')
      .where('event_id', '=', 'waiting')
      .executeTakeFirstOrThrow();
    await db
      .updateTable('deliveries')
      .set({ next_attempt_at: Date.now() + 3600_000 })
      .where('id', '=', waiting.id)
      .execute();
    await p.worker().runOnce();
    expect(await db.selectFrom('attempts').select('id').execute()).toHaveLength(1);

    expect(await pruneHistory(db, Date.now() - 60_000)).toEqual({ attempts: 0, events: 0 });
    const pruned = await pruneHistory(db, Date.now() + 1000);
    expect(pruned).toEqual({ attempts: 1, events: 1 });
    const left = await db.selectFrom('events').select('id').execute();
    expect(left.map((e) => e.id)).toEqual(['waiting']);
    // The delivery log keeps its rows.
    expect(await db.selectFrom('deliveries').select('id').execute()).toHaveLength(2);
  });

  it("prunes the dashboard's activity and queue samples of minutes before the cut", async () => {
    p = await createPipeline(backend);
    const db = p.t.store.store.db;
    const minute = 60_000;
    const cut = 100 * minute;
    for (const [processId, at] of [
      ['process-old', cut - minute],
      ['process-kept', cut],
      ['process-now', cut + 10 * minute],
    ] as const) {
      const recorder = new ActivityRecorder(db, { processId, clock: () => at });
      recorder.noteDelivery('owner-1', 'succeeded');
      expect(await recorder.flush()).toBe(true);
    }

    for (const at of [cut - 2 * minute, cut - minute + 30_000, cut + 5_000]) {
      expect(await new QueueSampler(db, { clock: () => at }).sample()).toBe(true);
    }

    expect(await pruneActivity(db, cut)).toBe(3);
    const left = await db
      .selectFrom('activity')
      .select('process_id')
      .orderBy('process_id')
      .execute();
    expect(left.map((r) => r.process_id)).toEqual(['process-kept', 'process-now']);
    const samples = await db.selectFrom('queue_samples').select('minute').execute();
    expect(samples.map((r) => Number(r.minute))).toEqual([cut]);
    expect(await pruneActivity(db, cut)).toBe(0);
  });
});
