import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/db.js';

describe('SQLite: a write that fills the disk', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fails with SQLITE_FULL, not with the rollback SQLite already did, and the store writes again once there is room', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-full-'));
    dirs.push(dir);
    const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'callhook.db') });
    stores.push(store);
    await sql`create table t (body text not null)`.execute(store.db);
    // A disk with room for two more pages: SQLite answers SQLITE_FULL and ends the transaction.
    const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(store.db);
    await sql.raw(`pragma max_page_count = ${rows[0]!.page_count + 2}`).execute(store.db);
    const fill = () =>
      store.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 50; i++) {
          await sql`insert into t (body) values (${'x'.repeat(4000)})`.execute(trx);
        }
      });
    await expect(fill()).rejects.toMatchObject({
      code: 'SQLITE_FULL',
      message: 'database or disk is full',
    });
    await sql.raw('pragma max_page_count = 1073741823').execute(store.db);
    await fill();
    const count = await sql<{ n: number }>`select count(*) n from t`.execute(store.db);
    expect(count.rows[0]!.n).toBe(50);
  });
});
