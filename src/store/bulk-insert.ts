/**
 * Many rows into one table in one statement. On PostgreSQL: `insert … select … from
 * json_to_recordset($1::json) as r(<column> <type>, …)`, the rows as one JSON parameter. A
 * 400-row `VALUES` list of deliveries carries 5,600 parameters for pg to serialise and the server
 * to parse and plan (≈25 ms a statement at ingest); one array parameter per column (`unnest`) cut
 * that to 14, but pg escapes every array element in JavaScript (6 % of the API's CPU at ingest);
 * `JSON.stringify` does the same in native code. A text value must be well-formed Unicode (the
 * server refuses half a UTF-16 pair in JSON); callers check what they take from clients
 * (events.routes.ts). SQLite keeps Kysely's multi-row `VALUES` (its statements are prepared once
 * and cached): the same JSON through `json_each` and `value ->> '$.column'` was slower there
 * (batch ingest 36–38 k → 28–30 k events/s, 2026-11-28), each column reading the row's JSON again.
 */
import { PostgresAdapter, sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema.js';

export type ColumnType = 'text' | 'bigint' | 'integer';

/** Whether `db` (a Kysely instance or transaction) talks to PostgreSQL. */
export function isPostgres(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * `insert into <table> (<columns>) select <columns> from json_to_recordset(<rows>) <tail>`.
 * `tail`: `on conflict …`, `returning …`.
 */
export async function bulkInsert<R>(
  db: Kysely<Database>,
  table: keyof Database,
  columns: readonly (readonly [string, ColumnType])[],
  rows: readonly Readonly<Record<string, unknown>>[],
  tail: RawBuilder<unknown> = sql``,
): Promise<R[]> {
  if (rows.length === 0) return [];
  // JSON has no NaN or Infinity: JSON.stringify would send them as null, without a word.
  for (const [name, type] of columns) {
    if (type === 'text') continue;
    rows.forEach((row, index) => {
      const value = row[name];
      if (value !== null && value !== undefined && !Number.isFinite(value))
        throw new TypeError(
          `insert into ${table}: row ${index}, column ${name} is ${String(value)}, not a finite number`,
        );
    });
  }
  const names = sql.join(columns.map(([name]) => sql.ref(name)));
  const shape = sql.join(columns.map(([name, type]) => sql`${sql.ref(name)} ${sql.raw(type)}`));
  const result = await sql<R>`
    insert into ${sql.table(table)} (${names})
    select ${names} from json_to_recordset(${JSON.stringify(rows)}::json) as r(${shape}) ${tail}`.execute(
    db,
  );
  return result.rows;
}
