/**
 * A campaign's moves read and write its row no more than they need: a start reads its contact
 * list's size once, a pause and a rate change write the row once (the rate change wrote it three
 * times: its settings, the unsent contacts taken back, the next slot respaced), a resume writes it
 * once with the slot its held retries take (it wrote it twice), and a pump reads
 * the row once, locked, beside the runner's look at every running campaign. Their effects are the
 * rate and pause tests' (campaign.rate-holds, campaign.pause-stop-and-integration-state).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { KyselyPlugin, RootOperationNode } from 'kysely';
import { DIALECTS } from '../helpers/store.js';
import { CampaignRunStore } from '../../src/store/campaign-run-store.js';
import { CampaignRunner } from '../../src/queue/campaign-runner.js';
import { createCampaignRig, type Rig } from './campaign-fixtures.js';

/** The statements run through a store, as `update campaigns`, `select contact_lists`, … */
function counted(rig: Rig) {
  const store = rig.t.store.store;
  const statements: string[] = [];
  const tableOf = (node: unknown) =>
    /"identifier":\{"kind":"IdentifierNode","name":"(\w+)"/.exec(JSON.stringify(node))?.[1];
  const plugin: KyselyPlugin = {
    transformQuery({ node }: { node: RootOperationNode }) {
      if (node.kind === 'UpdateQueryNode') statements.push(`update ${tableOf(node.table)}`);
      if (node.kind === 'SelectQueryNode') statements.push(`select ${tableOf(node.from)}`);
      return node;
    },
    transformResult: ({ result }) => Promise.resolve(result),
  };
  const counting = { ...store, db: store.db.withPlugin(plugin) };
  const count = (statement: string) => statements.filter((s) => s === statement).length;
  return { counting, statements, count };
}

describe.each(DIALECTS)('the writes of a campaign move on %s', (backend) => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('reads the list size once at a start, writes the row once at a pause and a rate change', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    // At 2 a second, the runner hands the first two over: a rate change has unsent ones to take
    // back, and a slot to respace.
    const id = await r.campaign(await r.list(10), 2);
    const { counting, statements, count } = counted(r);
    const runs = new CampaignRunStore(counting);

    expect((await runs.act(id, undefined, 'start')).kind).toBe('done');
    expect(count('select contact_lists'), statements.join(', ')).toBe(1);
    expect(count('update campaigns'), statements.join(', ')).toBe(1);

    const db = r.t.store.store.db;
    expect(await new CampaignRunner(r.t.store.store).runOnce()).toBe(false);
    // The first was sent; the second waits unsent at its slot.
    await db
      .updateTable('deliveries')
      .set((eb) => ({
        status: 'succeeded',
        attempts: 1,
        updated_at: eb('created_at', '+', 1),
        completed_at: Date.now(),
      }))
      .where('campaign_id', '=', id)
      .where('contact_id', '=', 'k-0')
      .execute();
    const second = await db
      .selectFrom('deliveries')
      .select('next_attempt_at')
      .where('campaign_id', '=', id)
      .where('contact_id', '=', 'k-1')
      .executeTakeFirstOrThrow();

    statements.length = 0;
    const changed = await runs.configure(id, undefined, { ratePerSecond: 5 });
    expect(changed.kind).toBe('done');
    expect(count('update campaigns'), statements.join(', ')).toBe(1);
    // The second taken back, its slot respaced from one every 500 ms to one every 200 ms.
    const stored = await db
      .selectFrom('campaigns')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(Number(stored.next_position)).toBe(1);
    expect(Number(stored.next_send_at)).toBe(Number(second.next_attempt_at) - 500 + 200);
    expect(Number(stored.rate_per_second)).toBe(5);
    expect(changed.kind === 'done' && changed.row).toEqual(stored);

    expect(await new CampaignRunner(r.t.store.store).runOnce()).toBe(false);
    // The first one's retry, due while the run is paused: the resume gives it the run's next slot
    // and moves the slot past it, in the same write as the state.
    await db
      .updateTable('deliveries')
      .set({ status: 'pending', completed_at: null, next_attempt_at: Date.now() - 1_000 })
      .where('campaign_id', '=', id)
      .where('contact_id', '=', 'k-0')
      .execute();
    statements.length = 0;
    expect((await runs.act(id, undefined, 'pause')).kind).toBe('done');
    expect(count('update campaigns'), statements.join(', ')).toBe(1);

    const paused = await db
      .selectFrom('campaigns')
      .select('next_send_at')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    statements.length = 0;
    const resumed = await runs.act(id, undefined, 'resume');
    expect(count('update campaigns'), statements.join(', ')).toBe(1);
    const afterResume = await db
      .selectFrom('campaigns')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(afterResume.state).toBe('running');
    expect(Number(afterResume.next_send_at)).toBeGreaterThan(Number(paused.next_send_at));
    expect(resumed.kind === 'done' && resumed.row).toEqual(afterResume);
  });

  it('reads a due campaign row twice per pump: with every running one, then locked', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const id = await r.campaign(await r.list(10), 2);
    await r.act(id, 'start');
    const { counting, statements, count } = counted(r);
    expect(await new CampaignRunner(counting).runOnce()).toBe(false);
    expect(count('select campaigns'), statements.join(', ')).toBe(2);
    const deliveries = await r.t.store.store.db
      .selectFrom('deliveries')
      .select('id')
      .where('campaign_id', '=', id)
      .execute();
    expect(deliveries).toHaveLength(2);
  });
});
