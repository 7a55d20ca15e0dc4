/**
 * PostgreSQL ending a session Callhook has checked out (a restart, a failover,
 * `pg_terminate_backend`) fails the transaction in flight with an error the store calls
 * transient, and nothing else: the process goes on, and the next query runs on a new connection. Which
 * errors are transient (worth trying again later) is one table, checked here too.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestStore, TEST_DATABASE_URL, type TestStore } from '../helpers/store.js';
import { isTransientPostgresError } from '../../src/store/postgres-backend.js';
import { inWriteTransaction } from '../../src/store/write-transaction.js';

describe('a PostgreSQL session ended while a query runs', () => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.destroy();
    t = undefined;
  });

  it('fails that transaction with a transient error; the store goes on with a new connection', async () => {
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
    expect(t.store.isTransient(error)).toBe(true);
    // Let the socket's end arrive: before the fix, the client's unheard 'error' event crashed
    // the process here.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(t.store.db);
    expect(rows).toEqual([{ one: 1 }]);
  });
});

describe('which PostgreSQL errors are transient', () => {
  const coded = (code: string, message = 'from the server') =>
    Object.assign(new Error(message), { code });

  it.each([
    ['a serialization failure', coded('40001')],
    ['a deadlock', coded('40P01')],
    ['a connection failure', coded('08006')],
    ['the server shutting down', coded('57P01')],
    ['the server starting', coded('57P03')],
    ['too many connections', coded('53300')],
    ['a lock timeout', coded('55P03')],
    ['a refused connection', coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['a reset connection', coded('ECONNRESET', 'read ECONNRESET')],
    ['a connection lost', new Error('Connection terminated unexpectedly')],
    ['a pool out of time', new Error('timeout exceeded when trying to connect')],
  ])('%s is', (_what, error) => {
    expect(isTransientPostgresError(error)).toBe(true);
  });

  it.each([
    ['a unique violation', coded('23505')],
    ['a missing table', coded('42P01')],
    ['a bad value', coded('22P02')],
    ['a query cancelled', coded('57014')],
    ['any other error', new Error('boom')],
    ['a thrown string', 'boom'],
  ])('%s is not', (_what, error) => {
    expect(isTransientPostgresError(error)).toBe(false);
  });
});
