import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { cliWith, processScope, userWithKey } from '../helpers/process.js';
import { migrations } from '../../src/store/migrations/index.js';

/** Integrations in a copy of `callhook.db` without its write-ahead log: what was checkpointed. */
function integrationsInFileAlone(dataDir: string): number {
  const copy = path.join(dataDir, 'checkpointed-copy.db');
  fs.copyFileSync(path.join(dataDir, 'callhook.db'), copy);
  const db = new SqliteDatabase(copy, { readonly: true });
  try {
    const row = db
      .prepare("select count(*) n from sqlite_master where name = 'integrations'")
      .get() as { n: number };
    if (row.n === 0) return 0;
    return (db.prepare('select count(*) n from integrations').get() as { n: number }).n;
  } finally {
    db.close();
    for (const file of [copy, `${copy}-wal`, `${copy}-shm`]) fs.rmSync(file, { force: true });
  }
}

describe('callhook serve (the real process)', () => {
  const scope = processScope('callhook-serve-');
  afterEach(() => scope.release());
  const { tempDir } = scope;
  const start = (env: Record<string, string>) => scope.start(['serve'], env);

  it('serves /healthz with its SQLite data in CALLHOOK_DATA_DIR, and finds it again on restart', async () => {
    // A data dir the first start makes, as `./data` of the README's `npm start`.
    const dataDir = path.join(tempDir(), 'data');
    const first = start({ CALLHOOK_DATA_DIR: dataDir });
    const url = await first.listening;
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(fs.existsSync(path.join(dataDir, 'callhook.db'))).toBe(true);
    // Only its owner may enter it: the database holds contacts' numbers, password hashes and
    // request logs, and SQLite makes its files readable by all (0644 under the usual umask).
    expect((fs.statSync(dataDir).mode & 0o777).toString(8)).toBe('700');
    expect(first.logs.some((l) => l['msg'] === 'migrations applied')).toBe(true);
    expect(await first.stop()).toEqual({ code: 0, signal: null });

    const second = start({ CALLHOOK_DATA_DIR: dataDir });
    const url2 = await second.listening;
    expect((await fetch(`${url2}/readyz`)).status).toBe(200);
    expect(second.logs.some((l) => l['msg'] === 'migrations applied')).toBe(false);
    expect(await second.stop()).toEqual({ code: 0, signal: null });
    const db = new SqliteDatabase(path.join(dataDir, 'callhook.db'), { readonly: true });
    expect(db.prepare('select count(*) n from callhook_migrations').get()).toEqual({
      n: migrations.length,
    });
    db.close();
  });

  it('refuses CALLHOOK_PORT=abc with a message naming the variable', async () => {
    const p = start({ CALLHOOK_DATA_DIR: tempDir(), CALLHOOK_PORT: 'abc' });
    const exit = await p.exited;
    expect(exit.code).toBe(2);
    expect(p.stderr.join('\n')).toMatch(
      /CALLHOOK_PORT must be a whole number from 0 to 65535, got "abc"/,
    );
  });

  it('says in one line which setting the machine refuses: a taken port, an unusable data dir', async () => {
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const dataDir = tempDir();
      const p = start({ CALLHOOK_DATA_DIR: dataDir, CALLHOOK_PORT: String(port) });
      const exit = await p.exited;
      expect(exit.code).toBe(2);
      expect(p.stderr.join('\n')).toMatch(
        new RegExp(
          `^callhook: cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use \\(CALLHOOK_HOST, CALLHOOK_PORT\\)$`,
          'm',
        ),
      );
      expect(p.stderr.join('\n')).not.toMatch(/\n\s+at /);
      // Refused before anything was made: no database, no first admin whose password scrolls by
      // above the error and is never shown again.
      expect(fs.readdirSync(dataDir)).toEqual([]);
      expect(p.stderr.join('\n')).not.toContain('created the first admin');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    // A host name that does not resolve (`.invalid` never does).
    const hostDir = tempDir();
    const unknownHost = start({ CALLHOOK_DATA_DIR: hostDir, CALLHOOK_HOST: 'callhook.invalid' });
    expect((await unknownHost.exited).code).toBe(2);
    expect(unknownHost.stderr.join('\n')).toMatch(
      /^callhook: cannot listen on callhook\.invalid:0: the host name does not resolve \(CALLHOOK_HOST, CALLHOOK_PORT\)$/m,
    );
    expect(fs.readdirSync(hostDir)).toEqual([]);
    // A data dir below a regular file cannot be made (found by the key file's check, the first
    // to need the data dir).
    const file = path.join(tempDir(), 'a-file');
    fs.writeFileSync(file, '');
    const p = start({ CALLHOOK_DATA_DIR: path.join(file, 'data') });
    const exit = await p.exited;
    expect(exit.code).toBe(2);
    expect(p.stderr.join('\n')).toMatch(
      /^callhook: cannot use the data dir .*a-file\/data for the secret key file \(CALLHOOK_DATA_DIR\): .*a-file is not a folder$/m,
    );
    // With CALLHOOK_SECRET_KEY, the SQLite file's own check says so.
    const keyed = start({
      CALLHOOK_DATA_DIR: path.join(file, 'data'),
      CALLHOOK_SECRET_KEY: 'ab'.repeat(32),
    });
    expect((await keyed.exited).code).toBe(2);
    expect(keyed.stderr.join('\n')).toMatch(
      /^callhook: cannot open the SQLite file .*a-file\/data\/callhook\.db \(CALLHOOK_DATA_DIR or CALLHOOK_DATABASE_URL\): ENOTDIR/m,
    );
  });

  it.each([0, 20, 60, 120, 250])(
    'exits cleanly on SIGTERM %i ms into start-up, leaving no half-applied migration',
    async (delay) => {
      const dataDir = tempDir();
      const p = start({ CALLHOOK_DATA_DIR: dataDir });
      await new Promise((resolve) => setTimeout(resolve, delay));
      const exit = await p.stop('SIGTERM');
      const file = path.join(dataDir, 'callhook.db');
      if (exit.signal === 'SIGTERM') {
        // Killed by the default action before Node ran any of our code: nothing was written.
        expect(fs.readdirSync(dataDir)).toEqual([]);
        return;
      }
      expect(exit).toEqual({ code: 0, signal: null });
      if (!fs.existsSync(file)) return;
      const db = new SqliteDatabase(file);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const tables = db
        .prepare("select name from sqlite_master where type = 'table' and name = 'users'")
        .all();
      const applied = db
        .prepare("select name from sqlite_master where name = 'callhook_migrations'")
        .get()
        ? (db.prepare('select name from callhook_migrations').all() as { name: string }[])
        : [];
      // The core migration's tables exist exactly when its bookkeeping row does.
      expect(tables.length).toBe(applied.some((m) => m.name === '0001-core') ? 1 : 0);
      db.close();
    },
  );

  it('exits cleanly on SIGTERM under write load: every answered write is whole, none is half', async () => {
    const dataDir = tempDir();
    const cli = cliWith({ CALLHOOK_DATA_DIR: dataDir, CALLHOOK_LOG_LEVEL: 'warn' });
    const key = await userWithKey(cli, 'ops@example.com', 'ops-password-1', ['--admin']);
    const p = start({ CALLHOOK_DATA_DIR: dataDir });
    const url = await p.listening;
    const created: string[] = [];
    let refused = 0;
    let n = 0;
    // Each write is a role with two grants: three rows in one transaction.
    const load = async () => {
      for (;;) {
        n += 1;
        try {
          const res = await fetch(`${url}/api/v1/roles`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name: `role-${n}`, permissions: ['integration', 'campaign'] }),
          });
          if (res.status === 201) created.push(((await res.json()) as { id: string }).id);
          else expect(res.status).toBe(503);
        } catch {
          refused += 1;
          return;
        }
      }
    };
    const clients = Array.from({ length: 8 }, load);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const exit = await p.stop('SIGTERM');
    await Promise.all(clients);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(created.length).toBeGreaterThan(10);
    expect(refused).toBe(8);
    expect(p.logs.some((l) => l['msg'] === 'stopped')).toBe(true);

    const db = new SqliteDatabase(path.join(dataDir, 'callhook.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const roles = db.prepare('select id from roles').all() as { id: string }[];
    // Every acknowledged role is there…
    expect(roles.map((r) => r.id)).toEqual(expect.arrayContaining(created));
    // …and no role (acknowledged or cut off) is there without both of its grants.
    const grants = db
      .prepare('select role_id, count(*) as n from role_permissions group by role_id')
      .all() as { role_id: string; n: number }[];
    const byRole = new Map(grants.map((g) => [g.role_id, g.n]));
    expect(roles.filter((r) => byRole.get(r.id) !== 2)).toEqual([]);
    db.close();
  });

  it('logs IVR invocations from its log thread, every one stored when stopped right after', async () => {
    const dataDir = tempDir();
    const cli = cliWith({ CALLHOOK_DATA_DIR: dataDir });
    const key = await userWithKey(cli, 'ivr@example.com', 'ivr-password-1', [
      '--grant',
      'integration',
    ]);
    const remote = http.createServer((_req, res) => res.end('{"balance":"7.25"}'));
    await new Promise<void>((resolve) => remote.listen(0, '127.0.0.1', resolve));
    try {
      const p = start({ CALLHOOK_DATA_DIR: dataDir, CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' });
      const url = await p.listening;
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const created = await fetch(`${url}/api/v1/integrations`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          name: 'Balance',
          type: 'http',
          config: {
            method: 'GET',
            url: `http://127.0.0.1:${(remote.address() as AddressInfo).port}/balance`,
            responseEncoding: 'json',
          },
          options: { responseVariables: [{ name: 'balance', path: 'balance' }] },
        }),
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const answers = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const res = await fetch(`${url}/api/v1/integrations/${id}/invoke`, {
            method: 'POST',
            headers,
            body: '{}',
          });
          return (await res.json()) as { outcome: string; variables: Record<string, string> };
        }),
      );
      expect(answers.map((a) => `${a.outcome} ${a.variables['balance']}`)).toEqual(
        Array.from({ length: 20 }, () => 'success 7.25'),
      );
      // The checkpoint thread (built .js) copies the new integration from the write-ahead log
      // into the database file itself, far below the ~1,000 pages of SQLite's own checkpoints.
      await expect.poll(() => integrationsInFileAlone(dataDir), { timeout: 3_000 }).toBe(1);
      expect(p.logs.filter((l) => l['msg'] === 'SQLite checkpoint thread')).toEqual([]);
      expect(await p.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      // Shutdown ran to its end (closing the checkpoint thread did not let the process exit early).
      expect(p.logs.some((l) => l['msg'] === 'stopped')).toBe(true);
    } finally {
      remote.closeAllConnections();
      await new Promise((resolve) => remote.close(resolve));
    }
    const db = new SqliteDatabase(path.join(dataDir, 'callhook.db'), { readonly: true });
    expect(db.prepare("select count(*) n from deliveries where kind = 'ivr'").get()).toEqual({
      n: 20,
    });
    expect(db.prepare('select count(*) n from attempts').get()).toEqual({ n: 20 });
    db.close();
  });

  it('refuses a secret key that does not open the secrets already stored, naming it', async () => {
    const dataDir = tempDir();
    const cli = cliWith({ CALLHOOK_DATA_DIR: dataDir, CALLHOOK_LOG_LEVEL: 'warn' });
    const key = await userWithKey(cli, 'ops@example.com', 'ops-password-1', ['--admin']);
    const first = start({ CALLHOOK_DATA_DIR: dataDir });
    const url = await first.listening;
    const created = await fetch(`${url}/api/v1/integrations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'CRM',
        type: 'http',
        config: { url: 'https://crm.example/calls', headers: 'Authorization: Bearer s3cr3t-token' },
      }),
    });
    expect(created.status).toBe(201);
    expect(await first.stop()).toEqual({ code: 0, signal: null });

    // Another key than the data dir's: refused before it serves, naming the setting.
    const wrong = start({ CALLHOOK_DATA_DIR: dataDir, CALLHOOK_SECRET_KEY: 'cd'.repeat(32) });
    const outcome = await Promise.race([
      wrong.exited,
      wrong.listening.then(() => 'listening' as const),
    ]);
    expect(outcome).toEqual({ code: 2, signal: null });
    expect(wrong.stderr.join('\n')).toMatch(
      /^callhook: CALLHOOK_SECRET_KEY does not open the secrets stored in the database: they were sealed with another key\./m,
    );
    // The data dir's own key still starts it.
    const again = start({ CALLHOOK_DATA_DIR: dataDir });
    await again.listening;
    expect(await again.stop()).toEqual({ code: 0, signal: null });
  });

  it('refuses PostgreSQL without a shared CALLHOOK_SECRET_KEY', async () => {
    const p = start({
      CALLHOOK_DATA_DIR: tempDir(),
      CALLHOOK_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
    });
    expect((await p.exited).code).toBe(2);
    expect(p.stderr.join('\n')).toContain('CALLHOOK_SECRET_KEY is required with PostgreSQL');
  });

  it('says in one line that PostgreSQL cannot be reached or the URL is wrong, without the password', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const cases: [string, RegExp][] = [
      [
        `postgres://postgres:hunter2@127.0.0.1:${port}/test`,
        new RegExp(
          `^callhook: cannot connect to PostgreSQL at postgres://postgres@127\\.0\\.0\\.1:${port}/test \\(CALLHOOK_DATABASE_URL\\): connect ECONNREFUSED`,
          'm',
        ),
      ],
      [
        'postgres://postgres:hunter2@127.0.0.1:99999/test',
        /^callhook: cannot connect to PostgreSQL at "postgres:\/\/…@127\.0\.0\.1:99999\/test" \(CALLHOOK_DATABASE_URL\): Invalid URL$/m,
      ],
    ];
    for (const [databaseUrl, message] of cases) {
      const dataDir = tempDir();
      const p = start({
        CALLHOOK_DATA_DIR: dataDir,
        CALLHOOK_DATABASE_URL: databaseUrl,
        CALLHOOK_SECRET_KEY: 'ab'.repeat(32),
      });
      expect((await p.exited).code).toBe(2);
      const stderr = p.stderr.join('\n');
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(stderr).not.toContain('hunter2');
      expect(fs.readdirSync(dataDir)).toEqual([]);
    }
    // `callhook migrate` says the same.
    const migrateCli = cliWith({
      CALLHOOK_DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${port}/test`,
      CALLHOOK_SECRET_KEY: 'ab'.repeat(32),
    });
    const failed = await migrateCli('migrate').then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toMatch(cases[0]![1]);
  });

  it('runs on PostgreSQL from CALLHOOK_DATABASE_URL', async () => {
    const pgUrl = await scope.postgresSchema(`t_serve_${process.pid}`);
    const p = start({
      CALLHOOK_DATA_DIR: tempDir(),
      CALLHOOK_DATABASE_URL: pgUrl,
      CALLHOOK_SECRET_KEY: 'ab'.repeat(32),
    });
    const url = await p.listening;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await p.stop()).toEqual({ code: 0, signal: null });
    const { default: pg } = await import('pg');
    const check = new pg.Client({ connectionString: pgUrl });
    await check.connect();
    const { rows } = await check.query('select count(*)::int as n from callhook_migrations');
    await check.end();
    expect(rows[0]).toEqual({ n: migrations.length });
  });
});
