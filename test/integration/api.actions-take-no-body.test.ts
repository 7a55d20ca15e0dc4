/**
 * Routes that define no body (a campaign's start, pause, resume and stop, a delivery's retry and
 * cancel, grants, deletes, logout…) take none: no body, an empty one and `{}` work as before,
 * anything else is 400 naming what was sent. Such a body was accepted and ignored, so a client
 * sending `{"force": true}` to `start` was never told it had no effect.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { createCampaignRig, type Rig } from '../campaigns/campaign-fixtures.js';
import { enqueueDeliveries } from '../../src/store/delivery-store.js';

const METHODS = ['post', 'put', 'patch', 'delete'] as const;

describe.each(DIALECTS)('routes without a body on %s', (backend) => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('refuse a body with properties, naming each, on every such route', async () => {
    rig = await createCampaignRig(backend);
    const admin = await rig.t.user({ admin: true });
    const doc = rig.t.app.swagger() as {
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    const routes = Object.entries(doc.paths).flatMap(([path, operations]) =>
      METHODS.filter((m) => operations[m] !== undefined && operations[m].requestBody === undefined)
        // Path parameters name nothing that exists: the body is judged before the route runs.
        .map((method) => ({ method, url: path.replace(/\{[^}]+\}/g, 'nope') })),
    );
    const urls = routes.map((r) => `${r.method.toUpperCase()} ${r.url}`);
    expect(urls).toEqual(
      expect.arrayContaining([
        'POST /api/v1/campaigns/nope/start',
        'POST /api/v1/campaigns/nope/pause',
        'POST /api/v1/campaigns/nope/resume',
        'POST /api/v1/campaigns/nope/stop',
        'POST /api/v1/deliveries/nope/retry',
        'POST /api/v1/deliveries/nope/cancel',
        'POST /api/v1/integrations/nope/replay/nope/cancel',
        'PUT /api/v1/users/nope/permissions/nope',
        'DELETE /api/v1/integrations/nope',
        'POST /api/v1/auth/logout',
      ]),
    );
    for (const { method, url } of routes) {
      const answers = [];
      for (const payload of [{ force: true, reason: 'x' }, [], 'start', 1, null]) {
        const res = await rig.t.app.inject({
          method: method.toUpperCase() as 'POST',
          url,
          headers: { ...admin.headers, 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });
        answers.push({ status: res.statusCode, error: res.body && res.json().error });
      }
      const route = `${method.toUpperCase()} ${url}`;
      const says = { code: 'VALIDATION_FAILED', message: expect.stringMatching(/takes no body/) };
      expect(answers, route).toEqual([
        {
          status: 400,
          error: {
            ...says,
            details: [
              { field: 'body.force', message: expect.stringMatching(/^is not taken/) },
              { field: 'body.reason', message: expect.stringMatching(/^is not taken/) },
            ],
          },
        },
        ...[1, 2, 3, 4].map(() => ({
          status: 400,
          error: {
            ...says,
            details: [{ field: 'body', message: 'must be empty or {}: this route takes no body' }],
          },
        })),
      ]);
    }
  });

  it('name 20 properties of a larger body, and count the rest', async () => {
    rig = await createCampaignRig(backend);
    const campaign = await rig.campaign(await rig.list(2), 1);
    const body = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`k${i}`, i]));
    const res = await rig.t.app.inject({
      method: 'POST',
      url: `/api/v1/campaigns/${campaign}/start`,
      headers: { ...rig.user.headers, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
    expect(res.statusCode).toBe(400);
    const details = res.json().error.details as { field: string; message: string }[];
    expect(details).toHaveLength(21);
    expect(details[19]!.field).toBe('body.k19');
    expect(details[20]).toEqual({ field: 'body', message: 'and 980 more properties' });
  });

  it('take an empty body of another type as none (an empty CSV on a delete)', async () => {
    rig = await createCampaignRig(backend);
    const created = await rig.t.app.inject({
      method: 'POST',
      url: '/api/v1/contact-lists',
      headers: rig.user.headers,
      payload: { name: 'Emptied' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const res = await rig.t.app.inject({
      method: 'DELETE',
      url: `/api/v1/contact-lists/${created.json<{ id: string }>().id}`,
      headers: { ...rig.user.headers, 'content-type': 'text/csv' },
      payload: '',
    });
    expect(res.statusCode, res.body).toBe(204);
  });

  it('take no body, an empty one and {} as before', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const list = await r.list(2);
    const json = { ...r.user.headers, 'content-type': 'application/json' };
    const send = (url: string, body: 'none' | 'empty' | '{}') =>
      r.t.app.inject({
        method: 'POST',
        url,
        headers: body === 'none' ? r.user.headers : json,
        ...(body === 'none' ? {} : { payload: body === 'empty' ? '' : '{}' }),
      });
    const campaign = await r.campaign(list, 1);
    const moves = [
      ['start', 'none'],
      ['pause', 'empty'],
      ['resume', '{}'],
      ['stop', 'none'],
    ] as const;
    for (const [action, body] of moves) {
      const res = await send(`/api/v1/campaigns/${campaign}/${action}`, body);
      expect(res.statusCode, `${action} with ${body}: ${res.body}`).toBe(200);
    }
    expect((await r.read(campaign)).state).toBe('stopped');

    await enqueueDeliveries(
      r.t.store.store.db,
      ['d-1', 'd-2', 'd-3'].map((id) => ({
        id,
        ownerId: r.user.id,
        integrationId: r.integrationId,
      })),
      Date.now() + 3_600_000,
    );
    for (const [id, body] of [
      ['d-1', 'none'],
      ['d-2', 'empty'],
      ['d-3', '{}'],
    ] as const) {
      const res = await send(`/api/v1/deliveries/${id}/cancel`, body);
      expect(res.statusCode, `${id} with ${body}: ${res.body}`).toBe(200);
      expect(res.json()).toMatchObject({ id, status: 'cancelled' });
    }
  });
});
