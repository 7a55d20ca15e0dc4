/**
 * Resuming a paused campaign while a worker stores a held delivery's retry (its request was out at
 * the pause and failed) waits for that write and keeps the retry's new time. On PostgreSQL the
 * resume's update read the held times before it waited for the row, and wrote the old one back.
 * A session of the test stands in for the worker's uncommitted write. PostgreSQL only: SQLite runs
 * one write transaction at a time.
 */
import pg from 'pg';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '../helpers/store.js';
import { HELD } from '../../src/store/delivery-store.js';
import { createCampaignRig, until, type Rig } from './campaign-fixtures.js';

describe('resuming a campaign on postgres', () => {
  let rig: Rig | undefined;
  let worker: pg.Client | undefined;
  afterEach(async () => {
    await worker?.end();
    worker = undefined;
    await rig?.close();
    rig = undefined;
  });

  it("keeps a retry time stored while it waited for that delivery's row", async () => {
    rig = await createCampaignRig('postgres', {
      integrationOptions: { retry: { maxAttempts: 5, scheduleSeconds: [600] } },
    });
    const r = rig;
    r.respond = (res) => void res.writeHead(503).end('down');
    const id = await r.campaign(await r.list(1), 10);
    r.startWorkers({ lanes: { circuit: { failureThreshold: 1_000, cooldownMs: 1_000 } } });
    await r.act(id, 'start');
    const db = r.t.store.store.db;
    const retry = async () =>
      db
        .selectFrom('deliveries')
        .select(['id', 'attempts', 'next_attempt_at'])
        .where('campaign_id', '=', id)
        .executeTakeFirst();
    await until(async () => (await retry())?.attempts === 1, 5_000, 'a failed first attempt');
    await r.stopWorkers();
    expect((await r.act(id, 'pause')).state).toBe('paused');
    const before = (await retry())!;
    expect(Number(before.next_attempt_at)).toBeGreaterThanOrEqual(HELD);

    // A worker gives the delivery back with a later retry time, kept held; not committed yet.
    worker = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      options: `-c search_path=${r.t.store.location}`,
    });
    await worker.connect();
    const pid = (await worker.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!
      .pid;
    await worker.query('begin');
    await worker.query(
      'update deliveries set next_attempt_at = next_attempt_at + 60000 where id = $1',
      [before.id],
    );
    const resuming = r.act(id, 'resume');
    await until(
      async () => {
        const { rows } = await sql<{ n: string }>`select count(*) as n from pg_stat_activity
          where ${pid} = any(pg_blocking_pids(pid))`.execute(db);
        return Number(rows[0]!.n) > 0;
      },
      5_000,
      'the resume to wait for the row',
    );
    await worker.query('commit');
    expect((await resuming).state).toBe('running');

    // Its time was still ahead: it keeps the one stored last, out of the hold.
    const after = (await retry())!;
    expect(Number(after.next_attempt_at)).toBe(Number(before.next_attempt_at) - HELD + 60_000);
  }, 20_000);
});
