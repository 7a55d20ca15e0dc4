import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';

describe.each(DIALECTS)('attempts recorded in one commit per batch on %s', (backend) => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('records a batch of successes and keeps per-call order across batches', async () => {
    p = await createPipeline(backend, { binding: { on: ['call.answered', 'call.ended'] } });
    const call = { id: 'c-shared', status: 'answered' };
    await p.post('/api/v1/events', {
      events: [
        ...['a', 'b', 'c', 'd'].map((id) => callEvent(id)),
        callEvent('first', { type: 'call.answered', occurredAt: '2026-11-27T09:59:00Z', call }),
        callEvent('second', { occurredAt: '2026-11-27T10:00:00Z', call }),
      ],
    });
    const worker = p.worker();
    // First round: the four lone events and the first of the shared call, in one batch.
    expect(await worker.runOnce()).toBe(5);
    expect(await worker.runOnce()).toBe(1);
    expect(await worker.runOnce()).toBe(0);
    const db = p.t.store.store.db;
    const rows = await db
      .selectFrom('deliveries')
      .select(['event_id', 'status', 'attempts', 'last_status'])
      .execute();
    expect(
      rows.every((r) => r.status === 'succeeded' && r.attempts === 1 && r.last_status === 200),
    ).toBe(true);
    expect(
      await db.selectFrom('attempts').select('id').where('outcome', '=', 'succeeded').execute(),
    ).toHaveLength(6);
    expect(p.received).toHaveLength(6);
  });
});
