/**
 * Many rows into one table in one statement, built here rather than by Kysely's query builder:
 * at ingest and on the completion path the builder's per-value nodes were ~10 µs of a delivery.
 *
 * - PostgreSQL: `insert … select … from json_to_recordset($1::json) as r(<column> <type>, …)`, the
 *   rows as one JSON parameter. A 400-row `VALUES` list of deliveries carries 5,600 parameters for
 *   pg to serialise and the server to parse and plan (≈25 ms a statement at ingest); one array
 *   parameter per column (`unnest`) cut that to 14, but pg escapes every array element in
 *   JavaScript (6 % of the API's CPU at ingest); `JSON.stringify` does the same in native code. A
 *   text value must be well-formed Unicode (the server refuses half a UTF-16 pair in JSON);
 *   callers check what they take from clients (events.routes.ts).
 * - SQLite: a multi-row `VALUES` list of `?` (its statements are prepared once per text and
 *   cached). The same JSON through `json_each` and `value ->> '$.column'` was slower there (batch
 *   ingest 36–38 k → 28–30 k events/s, 2026-11-28), each column reading the row's JSON again.
 *
 * A value left out of a row (`undefined`) is stored as NULL, not as the column's default.
 */
import { CompiledQuery, PostgresAdapter, sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema.js';

/** A column's PostgreSQL type, as `json_to_recordset` reads it (SQLite needs none). */
export type ColumnType = 'text' | 'bigint' | 'integer' | 'double precision';

type Columns = readonly (readonly [string, ColumnType])[];
type Rows = readonly Readonly<Record<string, unknown>>[];

/** Whether `db` (a Kysely instance or transaction) talks to PostgreSQL. */
export function isPostgres(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * `insert into <table> (<columns>) … <tail>` of `rows`, one statement. `tail`: `on conflict …`,
 * `returning …` (the same text on both backends).
 */
export async function bulkInsert<R>(
  db: Kysely<Database>,
  table: keyof Database,
  columns: Columns,
  rows: Rows,
  tail: RawBuilder<unknown> = sql``,
): Promise<R[]> {
  if (rows.length === 0) return [];
  // JSON has no NaN or Infinity: JSON.stringify would send them as null, without a word; SQLite
  // would store NaN as NULL.
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
  const query = isPostgres(db)
    ? fromJsonRecords(table, columns, rows, tail).compile(db)
    : valuesList(table, columns, rows, tail.compile(db));
  const result = await db.executeQuery<R>(query);
  return result.rows;
}

function fromJsonRecords(
  table: keyof Database,
  columns: Columns,
  rows: Rows,
  tail: RawBuilder<unknown>,
) {
  const names = sql.join(columns.map(([name]) => sql.ref(name)));
  const shape = sql.join(columns.map(([name, type]) => sql`${sql.ref(name)} ${sql.raw(type)}`));
  return sql`
    insert into ${sql.table(table)} (${names})
    select ${names} from json_to_recordset(${JSON.stringify(rows)}::json) as r(${shape}) ${tail}`;
}

function valuesList(table: keyof Database, columns: Columns, rows: Rows, end: CompiledQuery) {
  const parameters: unknown[] = [];
  for (const row of rows) for (const [name] of columns) parameters.push(row[name] ?? null);
  parameters.push(...end.parameters);
  const names = columns.map(([name]) => `"${name}"`).join(', ');
  const one = `(${columns.map(() => '?').join(', ')})`;
  const text = `insert into "${table}" (${names}) values ${new Array<string>(rows.length).fill(one).join(', ')} ${end.sql}`;
  return CompiledQuery.raw(text, parameters);
}
