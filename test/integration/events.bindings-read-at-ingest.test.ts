/**
 * Bindings are read when an event is stored (docs/delivery.md, "How an event is matched"): the
 * status filter is exact, an event without a status matches no filtered binding, and a binding
 * removed later does not take back the deliveries already made.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';

describe.each(DIALECTS)('bindings read at ingest on %s', (backend) => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });
  const deliveries = () =>
    p!.t.store.store.db
      .selectFrom('deliveries')
      .select(['event_id', 'status'])
      .orderBy('event_id')
      .execute();

  it('matches statuses exactly, never an event without one, and accepts events no binding wants', async () => {
    p = await createPipeline(backend, { binding: { on: ['call.ended'], statuses: ['busy'] } });
    const res = await p.post('/api/v1/events', {
      events: [
        callEvent('busy', { call: { id: 'c1', status: 'busy' } }),
        callEvent('answered', { call: { id: 'c2', status: 'answered' } }),
        callEvent('none', { call: { id: 'c3' } }),
        callEvent('upper', { call: { id: 'c4', status: 'BUSY' } }),
      ],
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({
      accepted: ['busy', 'answered', 'none'],
      rejected: [{ id: 'upper', field: 'call.status' }],
    });
    expect(await deliveries()).toEqual([{ event_id: 'busy', status: 'pending' }]);
  });

  it('keeps the deliveries made when their binding is removed or their campaign deleted', async () => {
    p = await createPipeline(backend);
    expect((await p.post('/api/v1/events', callEvent('before'))).statusCode).toBe(202);
    const unbound = await p.t.app.inject({
      method: 'PUT',
      url: '/api/v1/campaigns/spring/bindings',
      headers: p.dialer.headers,
      payload: { bindings: [] },
    });
    expect(unbound.statusCode, unbound.body).toBe(200);
    expect((await p.post('/api/v1/events', callEvent('after'))).json()).toMatchObject({
      accepted: ['after'],
    });
    const deleted = await p.t.app.inject({
      method: 'DELETE',
      url: '/api/v1/campaigns/spring',
      headers: p.dialer.headers,
    });
    expect(deleted.statusCode, deleted.body).toBe(204);
    expect(await deliveries()).toEqual([{ event_id: 'before', status: 'pending' }]);
    expect(await p.worker().runOnce()).toBe(1);
    expect(p.received).toHaveLength(1);
    expect(await deliveries()).toEqual([{ event_id: 'before', status: 'succeeded' }]);
  });
});
