/**
 * Many rows into one table in one statement, on PostgreSQL as `insert … select * from
 * unnest($1::text[], $2::bigint[], …)`: one array parameter per column. A 400-row `VALUES` list of
 * deliveries carries 5,600 parameters for pg to serialise and the server to parse and plan (≈25 ms
 * a statement at ingest); the arrays carry the same values as 14. SQLite keeps Kysely's multi-row
 * `VALUES` (its statements are prepared once and cached).
 */
import { PostgresAdapter, sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema.js';

export type ColumnType = 'text' | 'bigint' | 'integer';

/** Whether `db` (a Kysely instance or transaction) talks to PostgreSQL. */
export function isPostgres(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * `insert into <table> (<columns>) select * from unnest(<one array per column>) <tail>`.
 * `tail`: `on conflict …`, `returning …`.
 */
export async function unnestInsert<R>(
  db: Kysely<Database>,
  table: keyof Database,
  columns: readonly (readonly [string, ColumnType])[],
  rows: readonly Readonly<Record<string, unknown>>[],
  tail: RawBuilder<unknown> = sql``,
): Promise<R[]> {
  if (rows.length === 0) return [];
  const arrays = columns.map(
    ([name, type]) => sql`${rows.map((row) => row[name] ?? null)}::${sql.raw(type)}[]`,
  );
  const result = await sql<R>`
    insert into ${sql.table(table)} (${sql.join(columns.map(([name]) => sql.ref(name)))})
    select * from unnest(${sql.join(arrays)}) ${tail}`.execute(db);
  return result.rows;
}
