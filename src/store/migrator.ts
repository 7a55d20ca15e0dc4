/**
 * Forward-only migrations, each in its own transaction together with its bookkeeping row.
 * Kysely's `Migrator` does not wrap SQLite migrations in a transaction, so a process killed
 * mid-migration could leave half a schema; this small runner holds the write lock
 * (`begin immediate` on SQLite, an advisory lock on PostgreSQL) so concurrent starts are safe too.
 */
import { sql } from 'kysely';
import type { Store } from './db.js';
import { StartupError } from '../startup-error.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';

export interface MigrationResult {
  applied: string[];
  /** True when `signal` stopped the run between two migrations. */
  aborted: boolean;
}

export async function migrate(
  store: Store,
  options: { signal?: AbortSignal; migrations?: readonly Migration[] } = {},
): Promise<MigrationResult> {
  const migrations = options.migrations ?? allMigrations;
  const applied: string[] = [];
  await store.db.schema
    .createTable('callhook_migrations')
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('applied_at', 'bigint', (c) => c.notNull())
    .execute()
    .catch(async (error: unknown) => {
      // Two processes racing on PostgreSQL can both try to create it; the loser sees "already
      // exists" (or a duplicate type). Fine as long as the table is there now.
      const there = await store.db
        .selectFrom('callhook_migrations')
        .select('name')
        .limit(1)
        .execute()
        .then(
          () => true,
          () => false,
        );
      if (!there) throw refusal(store, error);
    });

  // A database a newer Callhook migrated has tables and rows this version does not know (a new
  // state, a column it must fill): running on it would write rows the newer one misreads.
  const known = new Set(migrations.map((m) => m.name));
  const unknown = (await store.db.selectFrom('callhook_migrations').select('name').execute())
    .map((row) => row.name)
    .filter((name) => !known.has(name))
    .sort();
  if (unknown.length > 0) {
    const which =
      unknown.length === 1
        ? `migration ${unknown[0]!}, which this version does not know`
        : `migrations ${unknown.join(', ')}, which this version does not know`;
    throw new StartupError(
      `${databaseOf(store)} was migrated by a newer Callhook (${which}): run that version or a later one`,
    );
  }

  for (const migration of migrations) {
    if (options.signal?.aborted) return { applied, aborted: true };
    const ran = await store.db.connection().execute(async (conn) => {
      await sql.raw(store.beginExclusive).execute(conn);
      try {
        if (store.lockStatement !== undefined) await sql.raw(store.lockStatement).execute(conn);
        const done = await conn
          .selectFrom('callhook_migrations')
          .select('name')
          .where('name', '=', migration.name)
          .executeTakeFirst();
        if (done === undefined) {
          await migration.up(conn as never, store.backend);
          await conn
            .insertInto('callhook_migrations')
            .values({ name: migration.name, applied_at: Date.now() })
            .execute();
        }
        await sql`commit`.execute(conn);
        return done === undefined;
      } catch (error) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw refusal(store, error, migration.name);
      }
    });
    if (ran) applied.push(migration.name);
  }
  return { applied, aborted: false };
}

/** The database `store` opened, with the settings that chose it. */
function databaseOf(store: Store): string {
  return store.file === undefined
    ? 'the PostgreSQL database (CALLHOOK_DATABASE_URL)'
    : `the SQLite file ${store.file} (CALLHOOK_DATA_DIR or CALLHOOK_DATABASE_URL)`;
}

/**
 * PostgreSQL's refusals of a migration that its settings cause, not the migration: a user who
 * may not create tables in the schema (PostgreSQL 15 no longer lets every user create in
 * `public`), a read-only server or session. What to do, per SQLSTATE.
 */
const REFUSALS: Record<string, string> = {
  '42501':
    'its user may not change the schema; grant it the rights, or run callhook migrate as its owner',
  '25006': 'the server or the session is read-only (a standby, default_transaction_read_only)',
};

/** A StartupError naming the database for a refusal of `REFUSALS`; other errors as they are. */
function refusal(store: Store, error: unknown, migration?: string): unknown {
  const code = (error as { code?: unknown }).code;
  const hint =
    store.backend === 'postgres' && typeof code === 'string' ? REFUSALS[code] : undefined;
  if (hint === undefined) return error;
  const step = migration === undefined ? '' : ` (migration ${migration})`;
  return new StartupError(
    `cannot migrate ${databaseOf(store)}${step}: ${(error as Error).message}; ${hint}`,
    { cause: error },
  );
}
