import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { pruneHistory } from '../../src/store/retention-store.js';

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
});
