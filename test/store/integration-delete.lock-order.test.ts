/**
 * Deleting an integration takes its rows in the order a completion does (docs/delivery.md,
 * "Locks"): its deliveries first, the integration's row last. A completion that auto-disables the
 * integration holds its delivery's row and then writes the integration's (completion.ts); a delete
 * that wrote the integration's row first and then waited for that delivery deadlocked with it, and
 * PostgreSQL aborted one of the two. Here a session of the test takes the completion's two row
 * locks in its order, with the real delete between. PostgreSQL only: SQLite runs one write
 * transaction at a time.
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
    const rows = await t.store.db
      .selectFrom('deliveries')
      .select(['status', 'last_error'])
      .where('integration_id', '=', integration)
      .execute();
    expect(rows).toEqual([
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
