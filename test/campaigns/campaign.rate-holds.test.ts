/**
 * `ratePerSecond` holds as requests reach a real receiver: measured over seconds, whole and
 * fractional rates, and a rate changed while the campaign runs applies at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { createCampaignRig, until, type Received, type Rig } from './campaign-fixtures.js';

/** Requests that arrived in `[from, from + ms)`. */
const within = (received: readonly Received[], from: number, ms: number) =>
  received.filter((r) => r.at >= from && r.at < from + ms).length;

describe.each(DIALECTS)('campaign rate on %s', (backend) => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('sends 10 contacts a second, measured over 3 s', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const id = await r.campaign(await r.list(200), 10);
    r.startWorkers();
    await r.act(id, 'start');
    await until(() => r.received.length > 0, 5_000, 'the first request');
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    await r.act(id, 'stop');
    const from = r.received[0]!.at;
    const sent = within(r.received, from, 3_000);
    // 30 slots (one at the start, then one every 100 ms); claims poll every 200 ms.
    expect(sent).toBeGreaterThanOrEqual(27);
    expect(sent).toBeLessThanOrEqual(33);
    // No second took more than its share plus what one poll gathers.
    for (let t = from; t + 1_000 <= from + 3_000; t += 250) {
      expect(within(r.received, t, 1_000), `second from +${t - from} ms`).toBeLessThanOrEqual(13);
    }
  }, 20_000);

  it('sends one contact every 2 s at 0.5 a second', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const id = await r.campaign(await r.list(3), 0.5);
    r.startWorkers();
    await r.act(id, 'start');
    await until(async () => (await r.read(id)).state === 'completed', 10_000, 'completion');
    expect(r.received).toHaveLength(3);
    const gaps = r.received.slice(1).map((req, i) => req.at - r.received[i]!.at);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(1_700);
      expect(gap).toBeLessThanOrEqual(2_400);
    }
    expect((await r.read(id)).ratePerSecond).toBe(0.5);
  }, 20_000);

  it('applies a rate changed while running at once, what was scheduled ahead included', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const id = await r.campaign(await r.list(40), 2);
    r.startWorkers();
    await r.act(id, 'start');
    await until(() => r.received.length >= 2, 5_000, 'two requests at 2/s');
    const faster = await r.call('PATCH', `/api/v1/campaigns/${id}`, { ratePerSecond: 25 });
    expect(faster.statusCode, faster.body).toBe(200);
    const changed = Date.now();
    await until(() => r.received.length >= 30, 5_000, '30 requests at 25/s');
    // 28 more at 25/s take about 1.1 s, where 2/s would have taken 14 s.
    expect(Date.now() - changed).toBeLessThan(2_500);
    const slower = await r.call('PATCH', `/api/v1/campaigns/${id}`, { ratePerSecond: 1 });
    expect(slower.statusCode).toBe(200);
    const at = r.received.length;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // What the fast rate had scheduled ahead (25) was taken back: about one more per second now.
    expect(r.received.length - at).toBeLessThanOrEqual(3);
    await r.act(id, 'stop');
    expect(new Set(r.received.map((req) => req.key)).size).toBe(r.received.length);
  }, 20_000);

  it('takes a faster rate at once even when the next slot at the old rate was far off', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    // One every 50 s: after the first contact, the next slot is 50 s away.
    const id = await r.campaign(await r.list(20), 0.02);
    r.startWorkers();
    await r.act(id, 'start');
    await until(() => r.received.length === 1, 5_000, 'the first request');
    const faster = await r.call('PATCH', `/api/v1/campaigns/${id}`, { ratePerSecond: 20 });
    expect(faster.statusCode, faster.body).toBe(200);
    await until(() => r.received.length === 20, 5_000, 'the other 19 at 20 a second');
    // Paused at a slow rate and made faster: the new rate counts from the last contact sent.
    const other = await r.campaign(await r.list(3), 0.02);
    await r.act(other, 'start');
    await until(() => r.received.length === 21, 5_000, "the other campaign's first request");
    await r.act(other, 'pause');
    await r.call('PATCH', `/api/v1/campaigns/${other}`, { ratePerSecond: 10 });
    await r.act(other, 'resume');
    await until(() => r.received.length === 23, 5_000, "the other campaign's last two");
  }, 30_000);

  it('sends the first contact at once when the rate changed before it went', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const id = await r.campaign(await r.list(2), 1);
    await r.act(id, 'start');
    await r.call('PATCH', `/api/v1/campaigns/${id}`, { ratePerSecond: 0.1 });
    const started = Date.now();
    r.startWorkers();
    await until(() => r.received.length === 1, 5_000, 'the first request');
    expect(Date.now() - started).toBeLessThan(1_500);
    await r.act(id, 'stop');
  }, 20_000);
});
