import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/config.js';
import { openStore, type Backend, type Store } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrator.js';

export const TEST_DATABASE_URL =
  process.env['CALLHOOK_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Every store test runs once per backend (Kysely's DIALECTS loop). */
export const DIALECTS: readonly Backend[] = ['sqlite', 'postgres'];

export interface TestStore {
  store: Store;
  database: DatabaseConfig;
  /** PostgreSQL schema, or SQLite directory. */
  location: string;
  destroy(): Promise<void>;
}

/** A fresh, migrated store: a new SQLite file, or a new PostgreSQL schema. */
export async function createTestStore(
  backend: Backend,
  options: { migrate?: boolean } = {},
): Promise<TestStore> {
  if (backend === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-test-'));
    const database: DatabaseConfig = { kind: 'sqlite', file: path.join(dir, 'callhook.db') };
    const store = await openStore(database);
    if (options.migrate !== false) await migrate(store);
    return {
      store,
      database,
      location: dir,
      async destroy() {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const database: DatabaseConfig = { kind: 'postgres', url: TEST_DATABASE_URL };
  const store = await openStore(database, { schema });
  if (options.migrate !== false) await migrate(store);
  return {
    store,
    database,
    location: schema,
    async destroy() {
      await store.close();
      await dropSchema(schema);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}

/** Creates `schema` afresh (dropping one left by an earlier run). */
export async function createSchema(schema: string): Promise<void> {
  await dropSchema(schema);
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`create schema ${schema}`);
  } finally {
    await client.end();
  }
}

/** A PostgreSQL database URL whose connections use `schema` (for child processes). */
export function postgresUrlWithSchema(schema: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}
