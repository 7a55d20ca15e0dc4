import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { BackendDriver } from './db.js';
import type { Database } from './schema.js';

/**
 * Opens (creating if needed) the SQLite file in WAL mode. `synchronous = FULL` so a committed
 * transaction survives a power loss, not only a process crash: an acknowledged event is never lost.
 */
export function openSqlite(file: string): BackendDriver {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    backend: 'sqlite',
    db,
    beginExclusive: 'begin immediate',
    lockStatement: undefined,
    isUniqueViolation: (error) =>
      error instanceof SqliteDatabase.SqliteError &&
      (error.code === 'SQLITE_CONSTRAINT_UNIQUE' || error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'),
    close: () => db.destroy(),
  };
}
