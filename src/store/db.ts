/**
 * The store: one Kysely instance over SQLite (better-sqlite3) or PostgreSQL (pg). Backend
 * differences live in `sqlite-backend.ts` and `postgres-backend.ts` behind `BackendDriver`.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import type { Database } from './schema.js';
import { openSqlite } from './sqlite-backend.js';
import type { CheckpointerOptions } from './sqlite-checkpointer.js';
import { openPostgres } from './postgres-backend.js';

export type Backend = 'sqlite' | 'postgres';
export type Tx = Transaction<Database>;

/** What differs between the two backends, kept small. */
export interface BackendDriver {
  readonly backend: Backend;
  readonly db: Kysely<Database>;
  /** SQLite: the database file, for a second connection in a worker thread (the IVR log). */
  readonly file?: string;
  /** The statement that opens a transaction holding the database's write lock. */
  readonly beginExclusive: string;
  /** Extra statement run first inside an exclusive transaction (PostgreSQL: advisory lock). */
  readonly lockStatement: string | undefined;
  /**
   * Around a write transaction whose commit need not wait for the disk (claims and completions,
   * which at-least-once delivery survives losing; docs/delivery.md, "Durability"): statements
   * run before the transaction, the one that opens it instead of `beginExclusive` (PostgreSQL:
   * `begin` and the setting in one round trip), and those run after the commit or rollback.
   */
  readonly lazyCommit: {
    readonly before: readonly string[];
    readonly begin: string;
    readonly after: readonly string[];
  };
  isUniqueViolation(error: unknown): boolean;
  /**
   * The error is the database being briefly unable to answer, not a fault of the statement: the
   * write lock held too long (SQLite `SQLITE_BUSY`), a serialization failure or deadlock, a lost
   * or refused connection (PostgreSQL). The same work may succeed when tried again later.
   */
  isTransient(error: unknown): boolean;
  close(): Promise<void>;
}

export interface Store extends BackendDriver {
  /** Throws when the database cannot be reached; used by `/readyz`. */
  ping(): Promise<void>;
}

export interface OpenStoreOptions {
  /** PostgreSQL only: the schema to use (created if missing). Tests use one per file. */
  schema?: string;
  /**
   * SQLite only: checkpoint the write-ahead log in a thread of its own (sqlite-checkpointer.ts),
   * reporting its problems here. `serve` does; tests and one-shot commands need not.
   */
  checkpointer?: CheckpointerOptions;
  /**
   * PostgreSQL only: open no connection until the first query. By default one is opened at once,
   * so a server that cannot be reached fails the open with a StartupError naming the setting.
   */
  lazy?: boolean;
}

export async function openStore(
  config: DatabaseConfig,
  options: OpenStoreOptions = {},
): Promise<Store> {
  const driver =
    config.kind === 'sqlite'
      ? openSqlite(config.file, options.checkpointer ? { checkpointer: options.checkpointer } : {})
      : await openPostgres(config.url, options.schema, { lazy: options.lazy === true });
  return {
    ...driver,
    isUniqueViolation: (error) => driver.isUniqueViolation(error),
    isTransient: (error) => driver.isTransient(error),
    close: () => driver.close(),
    async ping() {
      await driver.db.selectFrom('callhook_migrations').select('name').limit(1).execute();
    },
  };
}

/** A write hit a unique constraint (a taken email, a role name…); routes answer 409. */
export class UniqueConflict extends Error {
  constructor(cause: unknown) {
    super('unique constraint violated', { cause });
    this.name = 'UniqueConflict';
  }
}

/** Runs a write, turning the backend's unique violation into `UniqueConflict`. */
export async function unique<T>(
  driver: Pick<BackendDriver, 'isUniqueViolation'>,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (driver.isUniqueViolation(error)) throw new UniqueConflict(error);
    throw error;
  }
}
