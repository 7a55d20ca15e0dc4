/**
 * Deleting an integration takes its rows in the order every other writer does (docs/delivery.md,
 * "Locks"): its integration campaigns' rows, then its deliveries', the integration's last. A
 * completion that auto-disables the integration holds its delivery's row, then writes the
 * integration's (completion.ts); a campaign stop or pause holds its campaign's row, then writes its
 * deliveries (campaign-run-store.ts). A delete taking any two of these the other way round
 * deadlocked with them, and PostgreSQL aborted one of the two. Here a session of the test takes the
 * other writer's two row locks in its order, with the real delete between. PostgreSQL only: SQLite
 * runs one write transaction at a time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sql } from 'kysely';
import { createTestStore, TEST_DATABASE_URL, type TestStore } from '../helpers/store.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { IntegrationStore } from '../../src/store/integration-store.js';
import { delivery, enqueue, seedIntegration, seedOwner } from '../queue/queue-fixtures.js';

describe('deleting an integration while a completion disables it, on postgres', () => {
  let t: TestStore;
  let completion: pg.Client;

  beforeEach(async () => {
    t = await createTestStore('postgres');
    completion = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      options: `-c search_path=${t.location}`,
    });
    await completion.connect();
  });
  afterEach(async () => {
    await completion.end();
    await t.destroy();
  });

  /** Each of the integration's deliveries' status and last error. */
  const deliveriesOf = (integration: string) =>
    t.store.db
      .selectFrom('deliveries')
      .select(['status', 'last_error'])
      .where('integration_id', '=', integration)
      .execute();

  /** Waits until some session waits for a lock session `pid` holds. */
  const someoneWaitsFor = async (pid: number): Promise<void> => {
    for (let tries = 0; tries < 400; tries += 1) {
      const { rows } = await sql<{ n: string }>`
        select count(*) as n from pg_stat_activity where ${pid} = any(pg_blocking_pids(pid))`.execute(
        t.store.db,
      );
      if (Number(rows[0]!.n) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`no session came to wait for session ${pid}`);
  };

  it('waits for a campaign stop, then stops nothing more and cancels the rest', async () => {
    const queue = new DeliveryQueue(t.store);
    const owner = await seedOwner(t.store);
    const integration = await seedIntegration(t.store, owner);
    const now = Date.now();
    await t.store.db
      .insertInto('campaigns')
      .values({
        id: 'spring',
        owner_id: owner,
        name: 'Spring',
        type: 'integration',
        contact_list_id: null,
        integration_id: integration,
        rate_per_second: 10,
        state: 'running',
        created_at: now,
        updated_at: now,
        started_at: now,
        finished_at: null,
        stop_reason: null,
      })
      .execute();
    await enqueue(t.store, queue, [
      delivery(owner, integration, { kind: 'campaign', campaignId: 'spring', contactId: 'k-1' }),
      delivery(owner, integration, { kind: 'campaign', campaignId: 'spring', contactId: 'k-2' }),
    ]);
    const pid = (await completion.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!
      .pid;

    // A user's stop: the campaign's row first, then what it had not sent.
    await completion.query('begin');
    await completion.query(`select id from campaigns where id = 'spring' for update`);
    const deleting = new IntegrationStore(t.store).delete(integration, undefined);
    deleting.catch(() => undefined);
    await someoneWaitsFor(pid);
    await completion.query(
      `update deliveries set status = 'cancelled', last_error = 'campaign stopped' where campaign_id = 'spring' and status = 'pending'`,
    );
    await completion.query(
      `update campaigns set state = 'stopped', stop_reason = null where id = 'spring'`,
    );
    await completion.query('commit');

    expect(await deleting).toBe(true);
    expect(await deliveriesOf(integration)).toEqual([
      { status: 'cancelled', last_error: 'campaign stopped' },
      { status: 'cancelled', last_error: 'campaign stopped' },
    ]);
    // Stopped by its user first: the delete leaves its reason alone.
    expect(
      await t.store.db
        .selectFrom('campaigns')
        .select(['state', 'stop_reason'])
        .executeTakeFirstOrThrow(),
    ).toEqual({ state: 'stopped', stop_reason: null });
  }, 20_000);

  it('waits for the completion, then cancels the deliveries: neither is aborted', async () => {
    const queue = new DeliveryQueue(t.store);
    const owner = await seedOwner(t.store);
    const integration = await seedIntegration(t.store, owner);
    const first = delivery(owner, integration);
    await enqueue(t.store, queue, [first, delivery(owner, integration)]);
    const pid = (await completion.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!
      .pid;

    // The completion's first write: its delivery's row (a retry scheduled, still pending).
    await completion.query('begin');
    await completion.query(`update deliveries set last_error = 'HTTP 503' where id = $1`, [
      first.id,
    ]);
    const deleting = new IntegrationStore(t.store).delete(integration, undefined);
    deleting.catch(() => undefined);
    await someoneWaitsFor(pid);
    // Its last: the streak is long enough, the integration is disabled.
    await completion.query(
      `update integrations set enabled = 0, disabled_reason = 'disabled after 5 consecutive failed attempts' where id = $1`,
      [integration],
    );
    await completion.query('commit');

    expect(await deleting).toBe(true);
    expect(await deliveriesOf(integration)).toEqual([
      { status: 'cancelled', last_error: 'integration deleted' },
      { status: 'cancelled', last_error: 'integration deleted' },
    ]);
    const stored = await t.store.db
      .selectFrom('integrations')
      .select(['deleted_at', 'enabled'])
      .where('id', '=', integration)
      .executeTakeFirstOrThrow();
    expect(stored.deleted_at).not.toBeNull();
    expect(stored.enabled).toBe(0);
  }, 20_000);
});
