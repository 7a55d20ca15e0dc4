/**
 * What a running campaign does when paused, resumed or stopped, and when its integration is
 * disabled, deleted or its circuit opens: nothing is sent that should not be, nothing is lost or
 * sent twice, and the progress always adds up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { createCampaignRig, expectAddsUp, until, type Rig } from './campaign-fixtures.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(DIALECTS)('a running campaign on %s', (backend) => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  /** Each contact's requests: all of `ids` once, nothing else. */
  const expectEachOnce = (r: Rig, ids: readonly string[]) => {
    const contacts = r.received.map((req) => (JSON.parse(req.body) as { contact: string }).contact);
    expect(contacts.slice().sort()).toEqual(ids.slice().sort());
  };
  const contactIds = (n: number) => Array.from({ length: n }, (_, i) => `k-${i}`);
  /** The run's deliveries under a lease: requests out, or claimed and about to go. */
  const outNow = async (r: Rig, id: string) =>
    Number(
      (
        await r.t.store.store.db
          .selectFrom('deliveries')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('campaign_id', '=', id)
          .where('lease_owner', 'is not', null)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('sends nothing while paused and goes on where it was when resumed', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const id = await r.campaign(await r.list(60), 50);
    r.startWorkers();
    await r.act(id, 'start');
    await until(() => r.received.length >= 10, 5_000, '10 requests');
    const paused = await r.act(id, 'pause');
    expect(paused.state).toBe('paused');
    expectAddsUp(paused.progress);
    // A request already out when the pause was answered may still arrive; nothing starts after.
    await sleep(300);
    const atPause = r.received.length;
    // At 50 a second, a run that went on would send dozens meanwhile.
    await sleep(1_000);
    expect(r.received.length).toBe(atPause);
    const still = await r.read(id);
    expectAddsUp(still.progress);
    expect(still.progress).toMatchObject({ total: 60, succeeded: atPause, pending: 60 - atPause });

    await r.act(id, 'resume');
    await until(async () => (await r.read(id)).state === 'completed', 10_000, 'completion');
    expectEachOnce(r, contactIds(60));
    expect((await r.read(id)).progress).toEqual({
      total: 60,
      pending: 0,
      succeeded: 60,
      failed: 0,
      cancelled: 0,
    });
  }, 30_000);

  it('cancels what was not sent when stopped, and lists those contacts as cancelled', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const id = await r.campaign(await r.list(50), 50);
    r.startWorkers();
    await r.act(id, 'start');
    await until(() => r.received.length >= 10, 5_000, '10 requests');
    const stopped = await r.act(id, 'stop');
    expect(stopped.state).toBe('stopped');
    expectAddsUp(stopped.progress);
    // Requests out at the stop have come back (their late completion ends the lease).
    await until(async () => (await outNow(r, id)) === 0, 5_000, 'the requests out to end');
    const final = await r.read(id);
    expectAddsUp(final.progress);
    expect(final.progress.pending).toBe(0);
    const results = await r.call('GET', `/api/v1/campaigns/${id}/results?limit=500`);
    const items = results.json<{
      items: { contactId: string; status: string; attempts: number }[];
    }>().items;
    const sent = new Set(
      r.received.map((req) => (JSON.parse(req.body) as { contact: string }).contact),
    );
    expect(sent.size).toBe(r.received.length);
    for (const item of items) {
      if (item.status === 'succeeded') expect(sent.has(item.contactId), item.contactId).toBe(true);
      else {
        expect(item.status).toBe('cancelled');
        // A request out when the stop came finished; its contact counts as cancelled, and its
        // attempt shows. One never sent shows none.
        expect(sent.has(item.contactId), item.contactId).toBe(item.attempts > 0);
      }
    }
    const outAtStop = items.filter((item) => item.status === 'cancelled' && item.attempts > 0);
    expect(final.progress.succeeded).toBe(r.received.length - outAtStop.length);
    expect(final.progress.cancelled).toBe(50 - final.progress.succeeded);
  }, 30_000);

  it('waits while its integration is disabled and completes once it is enabled again', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const id = await r.campaign(await r.list(40), 50);
    r.startWorkers();
    await r.act(id, 'start');
    await until(() => r.received.length >= 5, 5_000, '5 requests');
    const off = await r.call('PATCH', `/api/v1/integrations/${r.integrationId}`, {
      enabled: false,
    });
    expect(off.statusCode, off.body).toBe(200);
    await sleep(300);
    const atDisable = r.received.length;
    // At 50 a second, a run that went on would send dozens meanwhile.
    await sleep(1_000);
    expect(r.received.length).toBe(atDisable);
    const waiting = await r.read(id);
    expect(waiting.state).toBe('running');
    expectAddsUp(waiting.progress);
    await r.call('PATCH', `/api/v1/integrations/${r.integrationId}`, { enabled: true });
    await until(async () => (await r.read(id)).state === 'completed', 10_000, 'completion');
    expectEachOnce(r, contactIds(40));
  }, 30_000);

  it('stops, saying why, when its integration is deleted', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const id = await r.campaign(await r.list(40), 20);
    r.startWorkers();
    await r.act(id, 'start');
    await until(() => r.received.length >= 5, 5_000, '5 requests');
    expect((await r.call('DELETE', `/api/v1/integrations/${r.integrationId}`)).statusCode).toBe(
      204,
    );
    const stopped = await r.read(id);
    expect(stopped.state).toBe('stopped');
    expect(stopped.stopReason).toBe(`integration ${r.integrationId} was deleted`);
    expectAddsUp(stopped.progress);
    await until(async () => (await outNow(r, id)) === 0, 5_000, 'the requests out to end');
    const final = await r.read(id);
    expect(final.progress.pending).toBe(0);
    expect(final.progress.succeeded + final.progress.cancelled).toBe(40);
    // A request out at the delete finished, but its delivery was cancelled with the integration.
    expect(final.progress.succeeded).toBeLessThanOrEqual(r.received.length);
    expect(r.received.length - final.progress.succeeded).toBeLessThanOrEqual(3);
  }, 30_000);

  it('holds back while the circuit is open, without a burst after, and retries what failed', async () => {
    rig = await createCampaignRig(backend, {
      integrationOptions: { retry: { maxAttempts: 5, scheduleSeconds: [0.2] } },
    });
    const r = rig;
    let down = true;
    r.respond = (res) => void res.writeHead(down ? 503 : 200).end(down ? 'down' : 'ok');
    const id = await r.campaign(await r.list(40), 20);
    r.startWorkers({ lanes: { circuit: { failureThreshold: 3, cooldownMs: 1_500 } } });
    await r.act(id, 'start');
    await until(() => r.received.length >= 3, 5_000, 'three failures');
    // The circuit is open now: the pump stores at most a second's worth that waits unsent.
    await sleep(1_000);
    const unsent = await r.t.store.store.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('campaign_id', '=', id)
      .where('status', '=', 'pending')
      .where('attempts', '=', 0)
      .executeTakeFirstOrThrow();
    expect(Number(unsent.n)).toBeLessThanOrEqual(20);
    expectAddsUp((await r.read(id)).progress);
    down = false;
    const recovered = Date.now();
    await until(async () => (await r.read(id)).state === 'completed', 20_000, 'completion');
    const done = await r.read(id);
    expect(done.progress).toMatchObject({ total: 40, succeeded: 40, failed: 0, pending: 0 });
    // After the circuit closed: at the rate, plus at most the second's worth that waited.
    const after = r.received.filter((req) => req.at >= recovered);
    const spanSeconds = (after.at(-1)!.at - after[0]!.at) / 1000;
    expect(after.length).toBeLessThanOrEqual(20 * spanSeconds + 20 + 5);
    // Every contact got through once; those that failed first were retried.
    const answered = r.received.filter((req) => req.at >= recovered);
    expect(new Set(answered.map((req) => req.key)).size).toBe(answered.length);
  }, 40_000);
});
