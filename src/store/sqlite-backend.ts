import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type Driver, type SqliteDialectConfig } from 'kysely';
import { StartupError } from '../startup-error.js';
import type { BackendDriver } from './db.js';
import type { Database } from './schema.js';
import { startCheckpointer, type CheckpointerOptions } from './sqlite-checkpointer.js';

/**
 * Opens (creating if needed) the SQLite file in WAL mode. `synchronous = FULL` so a committed
 * transaction survives a power loss, not only a process crash: an acknowledged event is never lost.
 */
export function openSqlite(
  file: string,
  options: { checkpointer?: CheckpointerOptions } = {},
): BackendDriver {
  let sqlite: SqliteDatabase.Database;
  try {
    // Owner only (a folder that exists keeps its mode): the database holds contacts' numbers,
    // password hashes and request logs, and SQLite makes its files readable by all under 022.
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    sqlite = new SqliteDatabase(file);
  } catch (error) {
    throw cannotOpen(file, error);
  }
  try {
    // The first statement reads the file: one that is not a SQLite database fails here.
    refuseAnotherApplications(sqlite, file);
    sqlite.pragma('journal_mode = WAL');
  } catch (error) {
    sqlite.close();
    throw error instanceof StartupError ? error : cannotOpen(file, error);
  }
  configureConnection(sqlite, 'FULL');
  // SQLite's default page cache is 2 MiB; the deliveries table's seven indexes outgrow it with a
  // busy queue, and every page it drops is read back from the OS. Up to 64 MiB, as pages are used.
  sqlite.pragma(`cache_size = -${MAIN_CACHE_KIB}`);
  const checkpointer =
    options.checkpointer && startCheckpointer(sqlite, file, options.checkpointer);
  const db = new Kysely<Database>({
    dialect: new KeepErrorSqliteDialect(sqlite, { database: withStatementCache(sqlite) }),
  });
  return {
    backend: 'sqlite',
    db,
    file,
    beginExclusive: 'begin immediate',
    lockStatement: undefined,
    // Per connection, and not changeable inside a transaction: set before, restored after. In
    // WAL mode a commit under `normal` survives a crash of the process; a power cut may lose it,
    // until the next `full` commit flushes the log with everything before it.
    lazyCommit: {
      before: ['pragma synchronous = normal'],
      begin: 'begin immediate',
      after: ['pragma synchronous = full'],
    },
    isUniqueViolation: (error) =>
      error instanceof SqliteDatabase.SqliteError &&
      (error.code === 'SQLITE_CONSTRAINT_UNIQUE' || error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'),
    // Another connection (a second process, the IVR log thread) kept the write lock past
    // `busy_timeout`, or a table is locked: tried again later, the same write goes through.
    isTransient: (error) =>
      error instanceof SqliteDatabase.SqliteError && /^SQLITE_(BUSY|LOCKED)(_|$)/.test(error.code),
    async close() {
      await checkpointer?.close();
      await db.destroy();
    },
  };
}

/**
 * A database with tables but no `callhook_migrations` is another application's (a path mistyped,
 * a file shared by mistake): migrating would add Callhook's tables to it, or fail half-way on a
 * name it shares (`users`). Refused before anything is written to it, WAL mode included.
 */
function refuseAnotherApplications(sqlite: SqliteDatabase.Database, file: string): void {
  const tables = sqlite
    .prepare(
      "select name from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\'",
    )
    .pluck()
    .all() as string[];
  if (tables.length === 0 || tables.includes('callhook_migrations')) return;
  const shown = tables.sort().slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
  throw new StartupError(
    `the SQLite file ${file} (CALLHOOK_DATA_DIR or CALLHOOK_DATABASE_URL) holds tables of another application (${shown}) and no Callhook migrations: point CALLHOOK_DATABASE_URL at Callhook's own file, or at a new one`,
  );
}

/** The file cannot be opened as a SQLite database: one line naming the settings. */
function cannotOpen(file: string, error: unknown): StartupError {
  const why = error instanceof Error ? error.message : String(error);
  return new StartupError(
    `cannot open the SQLite file ${file} (CALLHOOK_DATA_DIR or CALLHOOK_DATABASE_URL): ${why}`,
    { cause: error },
  );
}

/**
 * What every Callhook connection to the file runs with (the main one, and the IVR log thread's):
 * waits up to 10 s for the other's write lock, enforces foreign keys, and commits as `synchronous`
 * says. (WAL mode belongs to the file; the main connection sets it.)
 */
export function configureConnection(
  sqlite: SqliteDatabase.Database,
  synchronous: 'FULL' | 'NORMAL',
): void {
  sqlite.pragma(`synchronous = ${synchronous}`);
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
}

/**
 * Kysely's SQLite dialect, except that a transaction's `rollback` is skipped when SQLite has
 * already ended the transaction itself, as it does on some errors (SQLITE_FULL: the disk is full,
 * SQLITE_IOERR, SQLITE_NOMEM). Kysely rolls back after any error and throws what the rollback
 * throws, so the failure was reported as "cannot rollback - no transaction is active" instead of
 * its cause.
 */
class KeepErrorSqliteDialect extends SqliteDialect {
  constructor(
    private readonly sqlite: SqliteDatabase.Database,
    config: SqliteDialectConfig,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const driver = super.createDriver();
    const rollback = driver.rollbackTransaction.bind(driver);
    driver.rollbackTransaction = async (connection) => {
      if (this.sqlite.inTransaction) await rollback(connection);
    };
    return driver;
  }
}

const STATEMENT_CACHE_SIZE = 500;
/** The main connection's page cache, KiB. */
const MAIN_CACHE_KIB = 64 * 1024;

/**
 * Kysely prepares every query anew; on the delivery path that was a sixth of the CPU. The same
 * SQL text is prepared once and its statement reused (least recently used dropped past 500).
 */
function withStatementCache(sqlite: SqliteDatabase.Database): SqliteDialectConfig['database'] {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => {
      cache.clear();
      sqlite.close();
    },
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement === undefined) {
        statement = sqlite.prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      } else {
        cache.delete(text);
      }
      cache.set(text, statement);
      return statement;
    },
  } as SqliteDialectConfig['database'];
}
