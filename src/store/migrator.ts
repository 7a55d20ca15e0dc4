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
      if (!there) throw error;
    });

  // A database a newer Callhook migrated has tables and rows this version does not know (a new
  // state, a column it must fill): running on it would write rows the newer one misreads.
  const known = new Set(migrations.map((m) => m.name));
  const unknown = (await store.db.selectFrom('callhook_migrations').select('name').execute())
    .map((row) => row.name)
    .filter((name) => !known.has(name))
    .sort();
  if (unknown.length > 0) {
    const database =
      store.file === undefined
        ? 'the PostgreSQL database (CALLHOOK_DATABASE_URL)'
        : `the SQLite file ${store.file} (CALLHOOK_DATA_DIR or CALLHOOK_DATABASE_URL)`;
    const which =
      unknown.length === 1
        ? `migration ${unknown[0]!}, which this version does not know`
        : `migrations ${unknown.join(', ')}, which this version does not know`;
    throw new StartupError(
      `${database} was migrated by a newer Callhook (${which}): run that version or a later one`,
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
        throw error;
      }
    });
    if (ran) applied.push(migration.name);
  }
  return { applied, aborted: false };
}
