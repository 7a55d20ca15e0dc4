/**
 * An integration campaign sends its integration once per contact of its list, with the contact's and campaign's tokens, counts every contact exactly once while it runs, and
 * completes when every contact has a result; its results list each contact with its delivery.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { createCampaignRig, expectAddsUp, until, type Rig } from './campaign-fixtures.js';

describe.each(DIALECTS)('an integration campaign on %s', (backend) => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('sends each contact once, with its tokens, and completes', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const listId = await r.list(30, (i) => ({
      firstName: `Ana ${i}`,
      custom: { plan: i % 2 === 0 ? 'gold' : 'silver' },
    }));
    const id = await r.campaign(listId, 100);
    r.startWorkers();
    const started = await r.act(id, 'start');
    expect(started.state).toBe('running');
    expect(started.progress).toEqual({
      total: 30,
      pending: 30,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
    });
    const seen: number[] = [];
    await until(
      async () => {
        const view = await r.read(id);
        expectAddsUp(view.progress);
        seen.push(view.progress.succeeded);
        return view.state === 'completed';
      },
      15_000,
      'the campaign to complete',
    );
    const done = await r.read(id);
    expect(done.progress).toEqual({
      total: 30,
      pending: 0,
      succeeded: 30,
      failed: 0,
      cancelled: 0,
    });
    expect(r.received).toHaveLength(30);
    const bodies = r.received.map((req) => JSON.parse(req.body) as Record<string, string>);
    // Sent at the rate in list order, but several go out at once: arrival order may differ.
    expect(bodies.map((b) => b['contact']).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `k-${i}`).sort(),
    );
    expect(bodies.find((b) => b['contact'] === 'k-3')).toEqual({
      contact: 'k-3',
      name: 'Ana 3',
      plan: 'silver',
      campaign: 'Spring',
    });
    expect(r.received.map((req) => req.url)).toContain('/contacts?phone=%2B15550000000');
    expect(new Set(r.received.map((req) => req.key)).size).toBe(30);

    const results = await r.call('GET', `/api/v1/campaigns/${id}/results?limit=10`);
    expect(results.statusCode, results.body).toBe(200);
    const page = results.json<{
      items: { contactId: string; status: string; attempts: number; lastStatus: number }[];
      nextCursor: string;
    }>();
    expect(page.items.map((item) => item.contactId)).toEqual(
      Array.from({ length: 10 }, (_, i) => `k-${i}`),
    );
    expect(page.items[0]).toMatchObject({ status: 'succeeded', attempts: 1, lastStatus: 200 });
    const next = await r.call(
      'GET',
      `/api/v1/campaigns/${id}/results?limit=25&cursor=${page.nextCursor}`,
    );
    expect(next.json<{ items: unknown[]; nextCursor: null }>()).toMatchObject({ nextCursor: null });
    expect(next.json<{ items: unknown[] }>().items).toHaveLength(20);
  }, 30_000);

  it('runs the contacts its list had when it started: contacts added later are not part of it', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const listId = await r.list(5);
    const id = await r.campaign(listId, 2);
    r.startWorkers();
    await r.act(id, 'start');
    const added = await r.call('POST', `/api/v1/contact-lists/${listId}/contacts`, {
      contacts: [{ id: 'late', phone: '+15559990000' }],
    });
    expect(added.statusCode, added.body).toBe(201);
    expect((await r.read(id)).progress.total).toBe(5);
    await r.call('PATCH', `/api/v1/campaigns/${id}`, { ratePerSecond: 100 });
    await until(async () => (await r.read(id)).state === 'completed', 10_000, 'completion');
    expect(r.received).toHaveLength(5);
    expect(r.received.some((req) => req.body.includes('"late"'))).toBe(false);
    const results = await r.call('GET', `/api/v1/campaigns/${id}/results`);
    expect(results.json<{ items: unknown[] }>().items).toHaveLength(5);
  }, 30_000);

  it("retries a contact's failed delivery with the contact's tokens, and counts it again", async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    let answer = 422;
    r.respond = (res) => void res.writeHead(answer).end('');
    const id = await r.campaign(await r.list(1, () => ({ firstName: 'Ana' })), 10);
    r.startWorkers();
    await r.act(id, 'start');
    await until(async () => (await r.read(id)).state === 'completed', 10_000, 'completion');
    expect((await r.read(id)).progress).toMatchObject({ failed: 1, succeeded: 0 });
    const [result] = (await r.call('GET', `/api/v1/campaigns/${id}/results`)).json<{
      items: { deliveryId: string; status: string; lastStatus: number }[];
    }>().items;
    expect(result).toMatchObject({ status: 'failed', lastStatus: 422 });
    answer = 200;
    const retried = await r.call('POST', `/api/v1/deliveries/${result!.deliveryId}/retry`);
    expect(retried.statusCode, retried.body).toBe(202);
    await until(async () => (await r.read(id)).progress.succeeded === 1, 10_000, 'the retry');
    expect((await r.read(id)).progress).toMatchObject({
      total: 1,
      failed: 0,
      succeeded: 1,
      pending: 0,
    });
    expect(r.received).toHaveLength(2);
    expect(JSON.parse(r.received[1]!.body)).toMatchObject({ contact: 'k-0', name: 'Ana' });
    expect(r.received[1]!.key).toBe(r.received[0]!.key);
  }, 30_000);

  it("runs a new campaign that reuses a deleted one's id from scratch", async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const listId = await r.list(5);
    await r.campaign(listId, 100, 'spring');
    r.startWorkers();
    await r.act('spring', 'start');
    await until(async () => (await r.read('spring')).state === 'completed', 10_000, 'completion');
    expect((await r.call('DELETE', '/api/v1/campaigns/spring')).statusCode).toBe(204);

    await r.campaign(listId, 100, 'spring');
    const fresh = await r.read('spring');
    expect(fresh.progress).toEqual({ total: 0, pending: 0, succeeded: 0, failed: 0, cancelled: 0 });
    await r.act('spring', 'start');
    await until(async () => (await r.read('spring')).state === 'completed', 10_000, 'completion');
    expect(r.received).toHaveLength(10);
    expect((await r.read('spring')).progress).toEqual({
      total: 5,
      pending: 0,
      succeeded: 5,
      failed: 0,
      cancelled: 0,
    });
    const results = await r.call('GET', '/api/v1/campaigns/spring/results');
    const items = results.json<{ items: { deliveryId: string }[] }>().items;
    const second = new Set(r.received.slice(5).map((req) => req.key));
    expect(items.every((item) => second.has(item.deliveryId))).toBe(true);
  }, 30_000);
});
