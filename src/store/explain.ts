/** The plan a database would run a statement with, as text: for plan tests and benchmarks. */
import { sql, type Kysely, type OperationNodeSource } from 'kysely';
import type { Database } from './schema.js';
import { isPostgres } from './bulk-insert.js';

export async function explainPlan(
  db: Kysely<Database>,
  statement: OperationNodeSource,
): Promise<string> {
  if (isPostgres(db)) {
    const { rows } = await sql<{ 'QUERY PLAN': string }>`explain ${statement}`.execute(db);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  }
  const { rows } = await sql<{ detail: string }>`explain query plan ${statement}`.execute(db);
  return rows.map((row) => row.detail).join('\n');
}
