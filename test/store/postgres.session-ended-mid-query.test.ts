/**
 * PostgreSQL ending a session Callhook has checked out (a restart, a failover,
 * `pg_terminate_backend`) fails the transaction in flight, and nothing else: the process goes on,
 * and the next query runs on a new connection.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestStore, TEST_DATABASE_URL, type TestStore } from '../helpers/store.js';
import { inWriteTransaction } from '../../src/store/write-transaction.js';

describe('a PostgreSQL session ended while a query runs', () => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.destroy();
    t = undefined;
  });

  it('fails that transaction; the store goes on with a new connection', async () => {
    t = await createTestStore('postgres');
    const marker = `ended_${randomBytes(6).toString('hex')}`;
    // In a write transaction, as the queue runs its work: the rollback that follows the failure
    // goes out on the same, closing, connection.
    const failed: Promise<unknown> = inWriteTransaction(t.store, (trx) =>
      sql`select pg_sleep(10) as ${sql.raw(marker)}`.execute(trx),
    ).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      let pid: number | undefined;
      const until = Date.now() + 5_000;
      while (pid === undefined && Date.now() < until) {
        const { rows } = await admin.query<{ pid: number }>(
          'select pid from pg_stat_activity where query like $1 and pid <> pg_backend_pid()',
          [`%${marker}%`],
        );
        pid = rows[0]?.pid;
        if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(pid, 'the query never showed in pg_stat_activity').toBeDefined();
      await admin.query('select pg_terminate_backend($1)', [pid]);
    } finally {
      await admin.end();
    }
    const error = await failed;
    expect(error).toMatchObject({ code: '57P01' });
    // Let the socket's end arrive: before the fix, the client's unheard 'error' event crashed
    // the process here.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(t.store.db);
    expect(rows).toEqual([{ one: 1 }]);
  });
});
