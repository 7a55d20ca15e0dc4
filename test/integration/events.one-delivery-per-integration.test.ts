/**
 * A campaign may bind one integration more than once (the console adds a row per binding: one for
 * answered calls, one for every `call.ended`…). An event that several of them match runs the
 * integration once: it yielded one delivery per matching binding, so the remote got the same
 * request twice, each with an `Idempotency-Key` of its own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';

describe.each(DIALECTS)('one delivery per integration and event on %s', (backend) => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('runs an integration bound twice once for an event both bindings match', async () => {
    p = await createPipeline(backend);
    const bound = await p.t.app.inject({
      method: 'PUT',
      url: '/api/v1/campaigns/spring/bindings',
      headers: p.dialer.headers,
      payload: {
        bindings: [
          { integrationId: p.integrationId, on: ['call.ended'], statuses: ['answered'] },
          { integrationId: p.integrationId, on: ['call.ended', 'call.started'] },
        ],
      },
    });
    expect(bound.statusCode, bound.body).toBe(200);
    const res = await p.post('/api/v1/events', {
      events: [
        callEvent('both'),
        callEvent('second-only', { call: { id: 'c-2', status: 'busy' } }),
        callEvent('started', { type: 'call.started', call: { id: 'c-3' } }),
      ],
    });
    expect(res.statusCode, res.body).toBe(202);
    const deliveries = await p.t.store.store.db
      .selectFrom('deliveries')
      .select(['event_id', 'integration_id'])
      .orderBy('event_id')
      .execute();
    expect(deliveries).toEqual(
      ['both', 'second-only', 'started'].map((id) => ({
        event_id: id,
        integration_id: p!.integrationId,
      })),
    );
    expect(await p.worker().runOnce()).toBe(3);
    expect(p.received).toHaveLength(3);
  });
});
