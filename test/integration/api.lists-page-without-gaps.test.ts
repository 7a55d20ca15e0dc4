/**
 * Every list answers `{items, nextCursor}` (SPEC §8.1) and its pages, walked with any `limit`,
 * give each item exactly once and in the order of one whole read, also when items share their
 * creation time (a batch of deliveries stored in one millisecond, ids in no particular order).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';
import { createHttpIntegration } from '../helpers/fixtures.js';
import { enqueueDeliveries } from '../../src/store/delivery-store.js';
import { CampaignStore } from '../../src/store/campaign-store.js';

describe.each(DIALECTS)('list pages on %s', (backend) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** The ids of every page of `url` at `limit`, one page after the other. */
  const walk = async (admin: TestUser, url: string, limit: number) => {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages += 1) {
      const query: string = `limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const res = await t!.app.inject({ url: `${url}?${query}`, headers: admin.headers });
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json<{ items: { id: string }[]; nextCursor: string | null }>();
      expect(Object.keys(page).sort()).toEqual(['items', 'nextCursor']);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      ids.push(...page.items.map((item) => item.id));
      if (page.nextCursor === null) return ids;
      cursor = page.nextCursor;
    }
    throw new Error(`${url} did not end`);
  };

  it('walks users, roles, integrations, campaigns, contact lists and deliveries page by page', async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const now = Date.now();
    const integration = await createHttpIntegration(t.store.store, admin.id);
    for (let i = 0; i < 4; i += 1) await t.user();
    for (let i = 0; i < 4; i += 1) await t.accounts.createRole({ name: `r${i}`, description: '' });
    for (let i = 0; i < 4; i += 1) await createHttpIntegration(t.store.store, admin.id);
    const campaigns = new CampaignStore(t.store.store.db);
    for (const id of ['spring', 'Autumn', 'b.2', 'a:1', 'z-9'])
      await campaigns.create(admin.id, { id, name: id, type: 'voice' });
    for (let i = 0; i < 4; i += 1) {
      const list = await t.app.inject({
        method: 'POST',
        url: '/api/v1/contact-lists',
        headers: admin.headers,
        payload: { name: `l${i}` },
      });
      expect(list.statusCode, list.body).toBe(201);
    }
    // One batch, one timestamp, ids neither sorted nor time-ordered.
    await enqueueDeliveries(
      t.store.store.db,
      ['d-7', 'd-1', 'd-10', 'd-3', 'd-2', 'D-5', 'd-9'].map((id) => ({
        id,
        ownerId: admin.id,
        integrationId: integration.id,
      })),
      now,
    );

    for (const url of [
      '/api/v1/users',
      '/api/v1/roles',
      '/api/v1/integrations',
      '/api/v1/campaigns',
      '/api/v1/contact-lists',
      '/api/v1/deliveries',
    ]) {
      const whole = await walk(admin, url, 500);
      expect(new Set(whole).size, url).toBe(whole.length);
      expect(whole.length, url).toBeGreaterThanOrEqual(4);
      for (const limit of [1, 2, 3])
        expect(await walk(admin, url, limit), `${url} by ${limit}`).toEqual(whole);
    }
  });

  it('refuses an empty cursor on every list, as the position cursors do', async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const integration = await createHttpIntegration(t.store.store, admin.id);
    const list = await t.app.inject({
      method: 'POST',
      url: '/api/v1/contact-lists',
      headers: admin.headers,
      payload: { name: 'l' },
    });
    expect(list.statusCode, list.body).toBe(201);
    await enqueueDeliveries(
      t.store.store.db,
      [{ id: 'd-1', ownerId: admin.id, integrationId: integration.id }],
      Date.now(),
    );
    // The delivery log first: it answered an empty page, the oldest-first lists the first one.
    for (const url of [
      '/api/v1/deliveries',
      '/api/v1/users',
      '/api/v1/roles',
      '/api/v1/integrations',
      '/api/v1/campaigns',
      '/api/v1/contact-lists',
      `/api/v1/contact-lists/${list.json<{ id: string }>().id}/contacts`,
      `/api/v1/integrations/${integration.id}/replay`,
    ]) {
      const res = await t.app.inject({ url: `${url}?cursor=`, headers: admin.headers });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [{ field: 'querystring.cursor' }],
      });
    }
  });

  it('refuses on every list a cursor that no page of it gave', async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const integration = await createHttpIntegration(t.store.store, admin.id);
    const post = async (url: string, payload: object) => {
      const res = await t!.app.inject({ method: 'POST', url, headers: admin.headers, payload });
      expect(res.statusCode, res.body).toBe(201);
      return res.json<{ id: string }>().id;
    };
    const list = await post('/api/v1/contact-lists', { name: 'l' });
    const campaign = await post('/api/v1/campaigns', { name: 'c', type: 'voice' });
    await enqueueDeliveries(
      t.store.store.db,
      [{ id: 'd-1', ownerId: admin.id, integrationId: integration.id }],
      Date.now(),
    );
    const garbage = [
      'zzz',
      'random text',
      // An id as it is: the cursors are the lists' own, not ids.
      integration.id,
      // base64url, but not of a cursor: ["a","b"], {"id":"a"}, [1], [""], ["\u0000"].
      'WyJhIiwiYiJd',
      'eyJpZCI6ImEifQ',
      'WzFd',
      'WyIiXQ',
      'WyJcdTAwMDAiXQ',
    ];
    for (const url of [
      '/api/v1/users',
      '/api/v1/roles',
      '/api/v1/api-keys',
      '/api/v1/integrations',
      `/api/v1/integrations/${integration.id}/replay`,
      '/api/v1/campaigns',
      `/api/v1/campaigns/${campaign}/results`,
      '/api/v1/contact-lists',
      `/api/v1/contact-lists/${list}/contacts`,
      '/api/v1/deliveries',
    ]) {
      for (const cursor of garbage) {
        const res = await t.app.inject({
          url: `${url}?cursor=${encodeURIComponent(cursor)}`,
          headers: admin.headers,
        });
        expect(res.statusCode, `${url} ${cursor}: ${res.body}`).toBe(400);
        expect(res.json().error).toMatchObject({
          code: 'VALIDATION_FAILED',
          details: [{ field: 'querystring.cursor' }],
        });
      }
    }
  });

  it('keeps limit within 1..500', async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    for (const limit of ['0', '501', '-1', '1.5', 'x']) {
      const res = await t.app.inject({
        url: `/api/v1/deliveries?limit=${limit}`,
        headers: admin.headers,
      });
      expect(res.statusCode, limit).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [{ field: 'querystring.limit' }],
      });
    }
  });
});
