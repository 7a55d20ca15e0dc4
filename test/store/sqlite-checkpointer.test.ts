import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { startCheckpointer, type Checkpointer } from '../../src/store/sqlite-checkpointer.js';
import { configureConnection } from '../../src/store/sqlite-backend.js';
import { openStore } from '../../src/store/db.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds, or fails after `ms`. */
async function eventually(check: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await sleep(20);
  }
}

describe('SQLite checkpointer (a thread copies the write-ahead log into the database)', () => {
  const dirs: string[] = [];
  const open: SqliteDatabase.Database[] = [];
  const checkpointers: Checkpointer[] = [];

  /** A database file in WAL mode, open on "the main connection", with one table. */
  const mainConnection = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-checkpoint-'));
    dirs.push(dir);
    const file = path.join(dir, 'callhook.db');
    const db = new SqliteDatabase(file);
    db.pragma('journal_mode = WAL');
    configureConnection(db, 'FULL');
    db.exec('create table t (id integer primary key, body text not null)');
    open.push(db);
    return { db, file };
  };

  /** ~40 KB a commit: 50 commits are about 500 pages of log (under the fallback of 4,000). */
  const writeSome = (db: SqliteDatabase.Database, commits = 50) => {
    const insert = db.prepare('insert into t (body) values (?)');
    for (let i = 0; i < commits; i++) db.transaction(() => insert.run('x'.repeat(40_000)))();
  };
  /** Pages of the database file itself (not counting the log). */
  const filePages = (file: string) => fs.statSync(file).size / 4096;

  afterEach(async () => {
    await Promise.all(checkpointers.splice(0).map((c) => c.close()));
    for (const db of open.splice(0)) db.close();
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('copies committed pages into the database file while the main connection never checkpoints', async () => {
    const { db, file } = mainConnection();
    const problems: Error[] = [];
    checkpointers.push(
      startCheckpointer(db, file, { intervalMs: 20, onProblem: (e) => problems.push(e) }),
    );
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(4000);
    const before = filePages(file);
    writeSome(db);
    // The main connection's own checkpoint would only come at 4,000 pages: only the thread copies.
    await eventually(() => filePages(file) > before + 400);
    expect(problems).toEqual([]);
  });

  it('without it, the same writes stay in the log (the control for the test above)', async () => {
    const { db, file } = mainConnection();
    db.pragma('wal_autocheckpoint = 4000');
    const before = filePages(file);
    writeSome(db);
    await sleep(300);
    expect(filePages(file)).toBe(before);
  });

  it('gives checkpoints back to the main connection when closed (twice at once: both wait)', async () => {
    const { db, file } = mainConnection();
    const checkpointer = startCheckpointer(db, file, { onProblem: () => undefined });
    let closed = 0;
    await Promise.all(
      [checkpointer.close(), checkpointer.close()].map((p) => p.then(() => (closed += 1))),
    );
    expect(closed).toBe(2);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });

  it('reports a checkpoint that fails once, not at every interval', async () => {
    const { db, file } = mainConnection();
    const problems: Error[] = [];
    const missing = path.join(path.dirname(file), 'not-there.db');
    checkpointers.push(
      startCheckpointer(db, missing, { intervalMs: 10, onProblem: (e) => problems.push(e) }),
    );
    await eventually(() => problems.length > 0);
    await sleep(200);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/unable to open database file/);
    expect((problems[0] as Error & { code?: string }).code).toBe('SQLITE_CANTOPEN');
  });

  it('goes on after checkpoints fail, copies what waited once they can, and says it works again', async () => {
    // A full disk fails every checkpoint (SQLITE_FULL) until there is room; here the file is not
    // there yet (SQLITE_CANTOPEN), then is: the thread keeps trying either way, never stops.
    const { db } = mainConnection();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-checkpoint-'));
    dirs.push(dir);
    const later = path.join(dir, 'callhook.db');
    const events: string[] = [];
    checkpointers.push(
      startCheckpointer(db, later, {
        intervalMs: 10,
        onProblem: (e) => events.push(`problem ${(e as Error & { code?: string }).code}`),
        onRecovered: () => events.push('recovered'),
      }),
    );
    await eventually(() => events.length > 0);
    await sleep(100);
    expect(events).toEqual(['problem SQLITE_CANTOPEN']);
    // The file comes, in WAL mode from its first byte (made aside, then moved in place)…
    const aside = new SqliteDatabase(`${later}.new`);
    aside.pragma('journal_mode = WAL');
    aside.exec('create table t (id integer primary key, body text not null)');
    aside.close();
    fs.renameSync(`${later}.new`, later);
    // …and its own writer's commits stay in the log (its fallback is far off)…
    const writer = new SqliteDatabase(later);
    open.push(writer);
    writer.pragma('wal_autocheckpoint = 4000');
    const before = filePages(later);
    writeSome(writer);
    // …until the thread, still there, copies them, and says so once.
    await eventually(() => filePages(later) > before + 400);
    await sleep(100);
    expect(events).toEqual(['problem SQLITE_CANTOPEN', 'recovered']);
    // The main connection never took the job back: the thread did not stop.
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(4000);
  });

  it('when the thread dies, says so and the main connection checkpoints again', async () => {
    const { db, file } = mainConnection();
    const problems: Error[] = [];
    checkpointers.push(
      startCheckpointer(db, file, {
        onProblem: (e) => problems.push(e),
        threadScript: new URL('./fixtures/dying-checkpoint-thread.mjs', import.meta.url),
      }),
    );
    await eventually(() => problems.length > 0);
    expect(problems[0]!.message).toMatch(
      /checkpoint thread exited \(1\); the main connection checkpoints again/,
    );
    expect((problems[0]!.cause as Error).message).toBe('checkpoint thread fixture fails');
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    // Past SQLite's 1,000 pages, the main connection's own commit checkpoints (synchronously).
    const before = filePages(file);
    writeSome(db, 120);
    expect(filePages(file)).toBeGreaterThan(before + 500);
  });

  it('runs under openStore when asked, and the store closes it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-checkpoint-'));
    dirs.push(dir);
    const file = path.join(dir, 'callhook.db');
    const problems: Error[] = [];
    const store = await openStore(
      { kind: 'sqlite', file },
      { checkpointer: { intervalMs: 20, onProblem: (e) => problems.push(e) } },
    );
    const autocheckpoint = async () =>
      (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(store.db))
        .rows[0]!.wal_autocheckpoint;
    expect(await autocheckpoint()).toBe(4000);
    await sql`create table t (body text)`.execute(store.db);
    const before = filePages(file);
    await sql`insert into t values (${'x'.repeat(400_000)})`.execute(store.db);
    await eventually(() => filePages(file) > before + 90);
    await store.close();
    expect(problems).toEqual([]);
  });
});
