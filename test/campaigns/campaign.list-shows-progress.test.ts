/**
 * `GET /api/v1/campaigns` shows each integration campaign's progress, as `GET /campaigns/:id`
 * does: the same item, page after page; other campaigns have none.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { createCampaignRig, until, type CampaignView, type Rig } from './campaign-fixtures.js';

describe.each(DIALECTS)('the campaign list on %s', (backend) => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('shows each integration campaign as a single read does, progress included', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const listId = await r.list(4);
    const done = await r.campaign(listId, 100, 'a-done');
    const stopped = await r.campaign(listId, 0.1, 'b-stopped');
    const idle = await r.campaign(listId, 1, 'c-idle');
    const voice = await r.call('POST', '/api/v1/campaigns', {
      id: 'd-voice',
      name: 'Voice',
      type: 'voice',
    });
    expect(voice.statusCode, voice.body).toBe(201);
    r.startWorkers();
    await r.act(done, 'start');
    await until(async () => (await r.read(done)).state === 'completed', 10_000, 'completion');
    // At one every 10 s: the first contact goes, the other three are cancelled by the stop.
    await r.act(stopped, 'start');
    await until(
      async () => (await r.read(stopped)).progress.succeeded === 1,
      5_000,
      "the stopped campaign's first contact",
    );
    await r.act(stopped, 'stop');
    await r.stopWorkers();

    const listed: CampaignView[] = [];
    let cursor: string | null = null;
    do {
      const page = await r.call(
        'GET',
        `/api/v1/campaigns?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      expect(page.statusCode, page.body).toBe(200);
      const body = page.json<{ items: CampaignView[]; nextCursor: string | null }>();
      listed.push(...body.items);
      cursor = body.nextCursor;
    } while (cursor !== null);
    const ids = [done, stopped, idle, 'd-voice'];
    expect(listed.map((c) => c.id)).toEqual(ids);
    for (const id of ids) expect(listed.find((c) => c.id === id)).toEqual(await r.read(id));
    expect(listed.map((c) => c.progress)).toEqual([
      { total: 4, pending: 0, succeeded: 4, failed: 0, cancelled: 0 },
      { total: 4, pending: 0, succeeded: 1, failed: 0, cancelled: 3 },
      { total: 0, pending: 0, succeeded: 0, failed: 0, cancelled: 0 },
      undefined,
    ]);
  }, 30_000);
});
