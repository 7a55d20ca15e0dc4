/**
 * The write transaction every queue operation runs in: it holds the database's write lock from
 * its first statement (SQLite `begin immediate`; PostgreSQL a plain `begin`, rows locked as read),
 * and it commits durably unless asked not to.
 */
import { sql, type Kysely } from 'kysely';
import type { Store } from './db.js';
import type { Database } from './schema.js';

/** What a write transaction needs of a store. */
export type WriteStore = Pick<Store, 'db' | 'beginExclusive' | 'lazyCommit'>;

/**
 * Runs `fn` in a transaction that holds the write lock from its first statement. With
 * `durable: false` its commit does not wait for the disk (`BackendDriver.lazyCommit`): for writes
 * that at-least-once delivery survives losing in a power cut, never for what a client was told.
 */
export async function inWriteTransaction<T>(
  store: WriteStore,
  fn: (trx: Kysely<Database>) => Promise<T>,
  options: { durable?: boolean } = {},
): Promise<T> {
  const lazy = options.durable === false ? store.lazyCommit : undefined;
  return store.db.connection().execute(async (conn) => {
    for (const statement of lazy?.before ?? []) await sql.raw(statement).execute(conn);
    try {
      try {
        // Inside: a lazy `begin` that fails after opening the transaction is rolled back too.
        await sql.raw(lazy?.begin ?? store.beginExclusive).execute(conn);
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (error) {
        // With no transaction open (its begin failed) this fails too, and says nothing new.
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw error;
      }
    } finally {
      for (const statement of lazy?.after ?? []) {
        // A connection left lazy would commit everything after without waiting for the disk.
        await sql
          .raw(statement)
          .execute(conn)
          .catch((error: unknown) => {
            throw new Error(`could not restore durable commits ("${statement}")`, { cause: error });
          });
      }
    }
  });
}
