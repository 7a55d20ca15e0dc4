/**
 * A running campaign that waits (its integration disabled, no room for more unsent contacts, or
 * every contact handed over with deliveries still pending) costs its runner reads only: no write
 * transaction while there is nothing to move, and one as soon as there is.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import type { Store } from '../../src/store/db.js';
import { CampaignRunner } from '../../src/queue/campaign-runner.js';
import { createCampaignRig, until, type Rig } from './campaign-fixtures.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(DIALECTS)('a waiting campaign on %s', (backend) => {
  let rig: Rig | undefined;
  let runner: CampaignRunner | undefined;
  afterEach(async () => {
    await runner?.stop();
    runner = undefined;
    await rig?.close();
    rig = undefined;
  });

  /** A runner (no delivery worker: nothing is sent) over a store that counts write transactions. */
  const countingRunner = (r: Rig) => {
    const store = r.t.store.store;
    const writes = { n: 0 };
    const counted: Pick<Store, 'db' | 'beginExclusive' | 'lazyCommit'> = {
      db: store.db,
      get beginExclusive() {
        writes.n += 1;
        return store.beginExclusive;
      },
      get lazyCommit() {
        writes.n += 1;
        return store.lazyCommit;
      },
    };
    runner = new CampaignRunner(counted, { pollMs: 50 });
    runner.start();
    return writes;
  };
  const stored = async (r: Rig, id: string) =>
    Number(
      (
        await r.t.store.store.db
          .selectFrom('deliveries')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('campaign_id', '=', id)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('writes nothing while its integration is disabled, and hands over once enabled', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const id = await r.campaign(await r.list(5), 10);
    await r.act(id, 'start');
    await r.call('PATCH', `/api/v1/integrations/${r.integrationId}`, { enabled: false });
    const writes = countingRunner(r);
    // 20 looks at one every 50 ms.
    await sleep(1_000);
    expect(writes.n, 'write transactions while disabled').toBe(0);
    expect(await stored(r, id)).toBe(0);
    await r.call('PATCH', `/api/v1/integrations/${r.integrationId}`, { enabled: true });
    await until(async () => (await stored(r, id)) === 5, 5_000, 'the five contacts handed over');
    expect(writes.n).toBeGreaterThan(0);
  });

  it('writes nothing while its room for unsent contacts is full', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    // At 2 a second, a second's worth (2) may wait unsent; nothing sends them here.
    const id = await r.campaign(await r.list(10), 2);
    await r.act(id, 'start');
    const writes = countingRunner(r);
    await until(async () => (await stored(r, id)) === 2, 5_000, 'the first two handed over');
    await sleep(200);
    const atFull = writes.n;
    await sleep(1_000);
    expect(writes.n - atFull, 'write transactions with no room').toBe(0);
    expect(await stored(r, id)).toBe(2);
  });

  it('writes nothing while every contact is handed over and some are pending, and completes after', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const id = await r.campaign(await r.list(3), 100);
    await r.act(id, 'start');
    const writes = countingRunner(r);
    await until(async () => (await stored(r, id)) === 3, 5_000, 'the three handed over');
    await sleep(200);
    const atHandedOver = writes.n;
    await sleep(1_000);
    expect(writes.n - atHandedOver, 'write transactions while pending').toBe(0);
    // Their deliveries end (as a worker would have them): the run completes.
    await r.t.store.store.db
      .updateTable('deliveries')
      .set({ status: 'succeeded', completed_at: Date.now() })
      .where('campaign_id', '=', id)
      .execute();
    await until(async () => (await r.read(id)).state === 'completed', 5_000, 'completion');
  });
});
