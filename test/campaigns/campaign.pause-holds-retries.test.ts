/**
 * A paused campaign sends nothing, its contacts waiting for a retry included (and one whose
 * request was out at the pause and failed): they wait for the resume, then go at the campaign's
 * rate. A stopped campaign retries nothing either.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { createCampaignRig, expectAddsUp, until, type Rig } from './campaign-fixtures.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(DIALECTS)('a paused campaign on %s', (backend) => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  const failingRig = async () => {
    rig = await createCampaignRig(backend, {
      integrationOptions: { retry: { maxAttempts: 20, scheduleSeconds: [0.5] } },
    });
    return rig;
  };
  /** The circuit stays closed: every failure is retried on the schedule. */
  const lanes = { circuit: { failureThreshold: 1_000, cooldownMs: 1_000 } };
  const contactOf = (body: string) => (JSON.parse(body) as { contact: string }).contact;

  it('retries nothing until resumed, then sends the retries due at its rate', async () => {
    const r = await failingRig();
    let down = true;
    // While `gate` is set, answers wait for it: a request is out at the pause for sure.
    let gate: ServerResponse[] | undefined;
    r.respond = (res) => {
      if (!down) return void res.writeHead(200).end('ok');
      if (gate === undefined) return void res.writeHead(503).end('down');
      gate.push(res);
    };
    const id = await r.campaign(await r.list(10), 20);
    r.startWorkers({ lanes });
    await r.act(id, 'start');
    // Every contact tried, and retries going out on their 0.5 s schedule.
    await until(() => r.received.length >= 13, 10_000, 'first attempts and retries');
    expect(new Set(r.received.map((req) => contactOf(req.body))).size).toBe(10);
    gate = [];
    const held = gate;
    await until(() => held.length > 0, 5_000, 'a request out');
    const paused = await r.act(id, 'pause');
    expect(paused.state).toBe('paused');
    // The request out at the pause fails now: its retry waits for the resume too.
    gate = undefined;
    for (const res of held) res.writeHead(503).end('down');
    await sleep(200);
    const atPause = r.received.length;
    // Past every retry's time (0.5 s +20 %, and a claim poll), twice over.
    await sleep(1_500);
    expect(r.received.length, 'requests after the pause').toBe(atPause);
    const still = await r.read(id);
    expect(still.progress).toMatchObject({ total: 10, pending: 10 });
    // Its deliveries have no next attempt time while it is paused.
    const listed = await r.call('GET', `/api/v1/deliveries?campaignId=${id}&limit=100`);
    const items = listed.json<{ items: { status: string; nextAttemptAt: string | null }[] }>()
      .items;
    expect(items.map((d) => [d.status, d.nextAttemptAt])).toEqual(
      Array.from({ length: 10 }, () => ['pending', null]),
    );

    // Resumed with its worker stopped, to see where the retries are put: due during the pause,
    // they take the campaign's slots, one every 50 ms, rather than all going at once.
    await r.stopWorkers();
    const resumed = Date.now();
    await r.act(id, 'resume');
    const due = (
      await r.t.store.store.db
        .selectFrom('deliveries')
        .select('next_attempt_at')
        .where('campaign_id', '=', id)
        .where('status', '=', 'pending')
        .orderBy('next_attempt_at')
        .execute()
    ).map((d) => Number(d.next_attempt_at));
    expect(due).toHaveLength(10);
    expect(due[0]).toBeGreaterThanOrEqual(resumed - 5);
    const gaps = due.slice(1).map((at, i) => at - due[i]!);
    for (const gap of gaps) expect(gap).toBeCloseTo(50, -1);

    down = false;
    r.startWorkers({ lanes });
    await until(async () => (await r.read(id)).state === 'completed', 10_000, 'completion');
    const done = await r.read(id);
    expect(done.progress).toEqual({
      total: 10,
      pending: 0,
      succeeded: 10,
      failed: 0,
      cancelled: 0,
    });
    // One delivery per contact throughout: one Idempotency-Key each.
    const keys = new Map<string, Set<string>>();
    for (const req of r.received) {
      const contact = contactOf(req.body);
      keys.set(contact, (keys.get(contact) ?? new Set()).add(req.key));
    }
    expect([...keys.values()].every((k) => k.size === 1)).toBe(true);
    expect(r.received.length - atPause).toBe(10);
  }, 30_000);

  it('retries nothing once stopped: its contacts waiting for a retry are cancelled', async () => {
    const r = await failingRig();
    r.respond = (res) => void res.writeHead(503).end('down');
    const id = await r.campaign(await r.list(5), 20);
    r.startWorkers({ lanes });
    await r.act(id, 'start');
    await until(() => r.received.length >= 5, 5_000, 'first attempts');
    const stopped = await r.act(id, 'stop');
    expectAddsUp(stopped.progress);
    await sleep(200);
    const atStop = r.received.length;
    // Past every retry's time (0.5 s +20 %, and a claim poll), twice over.
    await sleep(1_500);
    expect(r.received.length, 'requests after the stop').toBe(atStop);
    expect((await r.read(id)).progress).toEqual({
      total: 5,
      pending: 0,
      succeeded: 0,
      failed: 0,
      cancelled: 5,
    });
  }, 20_000);
});
