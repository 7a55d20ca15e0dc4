import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { StartupError } from '../startup-error.js';
import type { BackendDriver } from './db.js';
import type { Database } from './schema.js';

const INT8_OID = 20;
/** Serializes migrations and other whole-database writers across processes. */
const MIGRATION_LOCK_ID = 0x43616c6c; // "Call"

/**
 * Opens a pool on PostgreSQL. Timestamps are milliseconds in `bigint` columns, which pg returns as
 * strings by default; they are well below 2^53, so they are read as numbers.
 */

/** How long opening a connection to PostgreSQL may take. */
export const CONNECT_TIMEOUT_MS = 5_000;
export async function openPostgres(
  url: string,
  schema?: string,
  options: { lazy?: boolean } = {},
): Promise<BackendDriver> {
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID
        ? (value: string) => Number(value)
        : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
  };
  if (schema !== undefined) {
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect().catch((error: unknown) => {
      throw cannotConnect(url, error);
    });
    try {
      await admin.query(`create schema if not exists ${schema}`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // A server that accepts and never answers must not hold a caller forever: a connection is
    // given up after 5 s, and TCP keep-alive finds a peer that went away under an idle one.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    types,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    // Nor one checked out: the server ending its session (a restart, a failover,
    // pg_terminate_backend) fails the query in flight, and the client also emits 'error', which
    // the pool hears from idle clients only. The pool drops the broken client when it comes back.
    client.on('error', () => undefined);
    // Short statements only: JIT compiling one whose estimate crosses jit_above_cost (a claim over
    // a large backlog does) costs 50–90 ms to save microseconds. An error here surfaces on the
    // connection's first query.
    client.query('set jit = off').catch(() => undefined);
  });
  // One connection now, so a server that cannot be reached, a wrong database or user, or a URL
  // that does not parse stops start-up with one line naming the setting, not a stack trace from
  // the first migration. The pool keeps the connection.
  if (options.lazy !== true) {
    let found: { schema: string | null; search_path: string };
    try {
      const client = await pool.connect();
      try {
        found = (
          await client.query<typeof found>(
            "select current_schema() as schema, current_setting('search_path') as search_path",
          )
        ).rows[0]!;
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw cannotConnect(url, error);
    }
    // A search_path naming only schemas that do not exist: every table would be created in none
    // (`no schema has been selected to create in`, from the first migration).
    if (found.schema === null) {
      await pool.end().catch(() => undefined);
      throw new StartupError(
        `PostgreSQL at ${describeUrl(url)} (CALLHOOK_DATABASE_URL) has no schema to use: its ` +
          `search_path (${found.search_path}) names none that exists; create the schema first`,
      );
    }
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    backend: 'postgres',
    db,
    beginExclusive: 'begin',
    lockStatement: `select pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`,
    // The commit returns before its WAL is flushed; the server flushes within three times
    // wal_writer_delay, and a later ordinary commit flushes everything before it.
    // One simple-protocol query, so one round trip (no parameters: pg sends it as it is).
    lazyCommit: { before: [], begin: 'begin; set local synchronous_commit = off', after: [] },
    isUniqueViolation: (error) =>
      typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505',
    isTransient: isTransientPostgresError,
    close: () => db.destroy(),
  };
}

/** A connection that could not be made, as a StartupError naming the setting (no password). */
function cannotConnect(url: string, error: unknown): StartupError {
  const why = error instanceof Error ? error.message : String(error);
  return new StartupError(
    `cannot connect to PostgreSQL at ${describeUrl(url)} (CALLHOOK_DATABASE_URL): ${why}`,
    { cause: error },
  );
}

/** `postgres://user@host:5432/db`: the URL without its password and query (which may hold one). */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username === '' ? '' : `${parsed.username}@`;
    return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`;
  } catch {
    return `"${url.replace(/\/\/[^@/]*@/, '//…@').replace(/\?.*$/, '')}"`;
  }
}

/**
 * SQLSTATEs of a server briefly unable to answer: classes 08 (connection exception) and 40
 * (transaction rollback: serialization failure, deadlock), the server shutting down or starting
 * (57P01–57P03), too many connections (53300), a lock timeout (55P03).
 */
const TRANSIENT_STATE = /^(08|40)[0-9A-Z]{3}$|^(57P01|57P02|57P03|53300|55P03)$/;
/** Socket errors of a connection that could not be made or was cut. */
const TRANSIENT_SOCKET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** What pg and its pool throw, without a code, for a connection lost or not had in time. */
const CONNECTION_LOST =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/** A PostgreSQL error worth trying again later (`BackendDriver.isTransient`). */
export function isTransientPostgresError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return TRANSIENT_STATE.test(code) || TRANSIENT_SOCKET.has(code);
  return CONNECTION_LOST.test(error.message);
}
