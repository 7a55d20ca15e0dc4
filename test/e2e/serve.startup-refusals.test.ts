import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { processScope } from '../helpers/process.js';
import { TEST_DATABASE_URL } from '../helpers/store.js';

/** Every file and folder under `dir`, relative to it, sorted; `[]` for an empty or missing one. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

/** Runs `callhook <args>` in `scope` until it exits (a start that listens fails the test). */
function refusalIn(scope: ReturnType<typeof processScope>) {
  return async (args: string[], env: Record<string, string>) => {
    const p = scope.start(args, env);
    const outcome = await Promise.race([p.exited, p.listening.then(() => 'listening' as const)]);
    return { outcome, stderr: p.stderr };
  };
}

describe('callhook start-up refusals (the real process): one line, exit code 2, nothing made', () => {
  const scope = processScope('callhook-refusal-');
  afterEach(() => scope.release());

  const refusal = refusalIn(scope);

  /** A data dir holding `secret.key` as `make` leaves it. */
  const dataDirWithKeyFile = (make: (file: string) => void) => {
    const dataDir = scope.tempDir();
    make(path.join(dataDir, 'secret.key'));
    return dataDir;
  };

  it.each<[string, (file: string) => void, RegExp]>([
    [
      'text that is not a key',
      (file) => fs.writeFileSync(file, 'not a key\n', { mode: 0o600 }),
      /^callhook: \/\S+\/secret\.key does not hold a secret key \(64 hex digits\); restore it from a backup, or set CALLHOOK_SECRET_KEY to the key the stored secrets were sealed with$/,
    ],
    [
      'nothing',
      (file) => fs.writeFileSync(file, '', { mode: 0o600 }),
      /^callhook: \/\S+\/secret\.key does not hold a secret key \(64 hex digits\);/,
    ],
    [
      'a folder',
      (file) => fs.mkdirSync(file),
      /^callhook: cannot read the secret key file \/\S+\/secret\.key \(CALLHOOK_DATA_DIR\): EISDIR/,
    ],
  ])(
    'refuses a key file holding %s, before the database or the first admin is made',
    async (_, make, message) => {
      for (const args of [['serve'], ['serve', '--worker']]) {
        const dataDir = dataDirWithKeyFile(make);
        const before = filesUnder(dataDir);
        const { outcome, stderr } = await refusal(args, { CALLHOOK_DATA_DIR: dataDir });
        expect(outcome).toEqual({ code: 2, signal: null });
        expect(stderr).toHaveLength(1);
        expect(stderr[0]).toMatch(message);
        expect(filesUnder(dataDir)).toEqual(before);
      }
    },
  );

  it('refuses each wrong CALLHOOK_* value in one line naming the variable, making nothing', async () => {
    const wrong: Record<string, string> = {
      CALLHOOK_PORT: 'abc',
      CALLHOOK_METRICS_PORT: '70000',
      CALLHOOK_DATABASE_URL: 'mysql://db/callhook',
      CALLHOOK_SECRET_KEY: 'not-a-key',
      CALLHOOK_MODE: 'prod',
      CALLHOOK_ALLOW_NETWORKS: '10/8',
      CALLHOOK_TRUST_PROXY: 'maybe',
      CALLHOOK_ADMIN_EMAIL: 'nobody',
      CALLHOOK_ADMIN_PASSWORD: 'short',
      CALLHOOK_LOG_LEVEL: 'verbose',
      CALLHOOK_WORKER_CONCURRENCY: '0',
      CALLHOOK_LEASE_SECONDS: '1.5',
      CALLHOOK_RETENTION_DAYS: '-1',
      CALLHOOK_ACTIVITY_RETENTION_DAYS: '3651',
      CALLHOOK_AUTO_DISABLE_AFTER_FAILURES: 'x',
      CALLHOOK_AUTO_DISABLE_AFTER_HOURS: '8761',
      CALLHOOK_DEFAULT_COUNTRY: 'XX',
    };
    const runs = Object.entries(wrong).map(([name, value]) => ({ args: ['serve'], name, value }));
    runs.push({ args: ['migrate'], name: 'CALLHOOK_PORT', value: ' 1.5 ' });
    // At once: each start loads every module, a second or so.
    const refused = await Promise.all(
      runs.map(async ({ args, name, value }) => {
        const dataDir = path.join(scope.tempDir(), 'data');
        return {
          name,
          dataDir,
          ...(await refusal(args, { CALLHOOK_DATA_DIR: dataDir, [name]: value })),
        };
      }),
    );
    for (const { name, dataDir, outcome, stderr } of refused) {
      expect(outcome, name).toEqual({ code: 2, signal: null });
      expect(stderr, name).toHaveLength(1);
      expect(stderr[0], name).toMatch(new RegExp(`^callhook: invalid configuration: ${name} `));
      expect(fs.existsSync(dataDir), name).toBe(false);
    }
    // Several at once: every one, one line each.
    const { stderr } = await refusal(['serve'], { CALLHOOK_PORT: 'abc', CALLHOOK_MODE: 'prod' });
    expect(stderr).toEqual([
      'callhook: invalid configuration:',
      '  CALLHOOK_PORT must be a whole number from 0 to 65535, got "abc"',
      '  CALLHOOK_MODE must be "embedded" or "production", got "prod"',
    ]);
  }, 60_000);

  it('refuses a data dir below a regular file before the SQLite file kept elsewhere is made', async () => {
    // With the database elsewhere, the data dir holds only the generated key: found too late, the
    // database and the first admin had been made, and a stack trace ended start-up.
    const dir = scope.tempDir();
    fs.writeFileSync(path.join(dir, 'a-file'), '');
    const { outcome, stderr } = await refusal(['serve'], {
      CALLHOOK_DATA_DIR: path.join(dir, 'a-file', 'data'),
      CALLHOOK_DATABASE_URL: `sqlite:${path.join(dir, 'callhook.db')}`,
    });
    expect(outcome).toEqual({ code: 2, signal: null });
    expect(stderr).toEqual([
      `callhook: cannot use the data dir ${path.join(dir, 'a-file', 'data')} for the secret key file (CALLHOOK_DATA_DIR): ${path.join(dir, 'a-file')} is not a folder`,
    ]);
    expect(filesUnder(dir)).toEqual(['a-file']);
  });
});

describe('callhook commands on a database they cannot use: one line, exit code 2', () => {
  const scope = processScope('callhook-refusal-db-');
  afterEach(() => scope.release());

  const refusal = refusalIn(scope);
  const COMMANDS = [
    ['serve'],
    ['migrate'],
    ['users', 'create', '--email', 'ops@example.com', '--password', 'ops-password-1'],
  ];

  it('refuses a SQLite file that is not a database, naming it', async () => {
    for (const args of COMMANDS) {
      const dataDir = scope.tempDir();
      const file = path.join(dataDir, 'callhook.db');
      fs.writeFileSync(file, Buffer.alloc(8192, 7));
      const { outcome, stderr } = await refusal(args, { CALLHOOK_DATA_DIR: dataDir });
      expect(outcome).toEqual({ code: 2, signal: null });
      expect(stderr).toEqual([
        `callhook: cannot open the SQLite file ${file} (CALLHOOK_DATA_DIR or CALLHOOK_DATABASE_URL): file is not a database`,
      ]);
      expect(filesUnder(dataDir)).toEqual(['callhook.db']);
    }
  });

  it("refuses another application's SQLite database, leaving it as it was", async () => {
    for (const args of COMMANDS) {
      const dataDir = scope.tempDir();
      const file = path.join(dataDir, 'callhook.db');
      const other = new SqliteDatabase(file);
      other.exec(
        'create table users (id integer primary key, login text); create table orders (id integer)',
      );
      other.prepare("insert into users (login) values ('someone')").run();
      other.close();
      const bytes = fs.readFileSync(file);
      const { outcome, stderr } = await refusal(args, { CALLHOOK_DATA_DIR: dataDir });
      expect(outcome).toEqual({ code: 2, signal: null });
      expect(stderr).toEqual([
        `callhook: the SQLite file ${file} (CALLHOOK_DATA_DIR or CALLHOOK_DATABASE_URL) holds tables of another application (orders, users) and no Callhook migrations: point CALLHOOK_DATABASE_URL at Callhook's own file, or at a new one`,
      ]);
      // Not a byte changed: no Callhook table, no switch to WAL, no key file beside it.
      expect(fs.readFileSync(file).equals(bytes)).toBe(true);
      expect(filesUnder(dataDir)).toEqual(['callhook.db']);
    }
  });

  it('refuses a SQLite database a newer Callhook migrated, adding no admin and no key', async () => {
    const dataDir = scope.tempDir();
    const file = path.join(dataDir, 'callhook.db');
    const env = { CALLHOOK_DATA_DIR: dataDir };
    expect(await refusal(['migrate'], env)).toEqual({
      outcome: { code: 0, signal: null },
      stderr: [],
    });
    const db = new SqliteDatabase(file);
    db.prepare("insert into callhook_migrations values ('9999-from-the-future', 1)").run();
    db.close();
    for (const args of COMMANDS) {
      const { outcome, stderr } = await refusal(args, env);
      expect(outcome).toEqual({ code: 2, signal: null });
      expect(stderr).toEqual([
        `callhook: the SQLite file ${file} (CALLHOOK_DATA_DIR or CALLHOOK_DATABASE_URL) was migrated by a newer Callhook (migration 9999-from-the-future, which this version does not know): run that version or a later one`,
      ]);
    }
    expect(fs.existsSync(path.join(dataDir, 'secret.key'))).toBe(false);
    const after = new SqliteDatabase(file, { readonly: true });
    expect(after.prepare('select count(*) n from users').get()).toEqual({ n: 0 });
    after.close();
  });

  it('refuses a PostgreSQL URL whose search_path names no schema that exists', async () => {
    const url = new URL(TEST_DATABASE_URL);
    const schema = `t_missing_${process.pid}`;
    url.searchParams.set('options', `-c search_path=${schema}`);
    for (const args of COMMANDS) {
      const { outcome, stderr } = await refusal(args, {
        CALLHOOK_DATABASE_URL: url.toString(),
        CALLHOOK_SECRET_KEY: 'ab'.repeat(32),
      });
      expect(outcome).toEqual({ code: 2, signal: null });
      expect(stderr).toEqual([
        `callhook: PostgreSQL at ${url.protocol}//${url.username}@${url.host}${url.pathname} (CALLHOOK_DATABASE_URL) has no schema to use: its search_path (${schema}) names none that exists; create the schema first`,
      ]);
    }
  });

  it('refuses a PostgreSQL database that does not exist', async () => {
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/callhook_missing_${process.pid}`;
    for (const args of COMMANDS) {
      const { outcome, stderr } = await refusal(args, {
        CALLHOOK_DATABASE_URL: url.toString(),
        CALLHOOK_SECRET_KEY: 'ab'.repeat(32),
      });
      expect(outcome).toEqual({ code: 2, signal: null });
      expect(stderr).toEqual([
        `callhook: cannot connect to PostgreSQL at ${url.protocol}//${url.username}@${url.host}${url.pathname} (CALLHOOK_DATABASE_URL): database "callhook_missing_${process.pid}" does not exist`,
      ]);
    }
  });

  it('refuses a PostgreSQL database its user may not migrate, or that is read-only', async () => {
    const schema = `t_refusal_rights_${process.pid}`;
    const role = `callhook_refusal_${process.pid}`;
    const admin = async (statement: string) => {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    };
    // Dropped after the schema (clean-ups run last added first).
    await admin(`drop role if exists ${role}`);
    await admin(`create role ${role} login`);
    scope.onRelease(() => admin(`drop role if exists ${role}`));
    await scope.postgresSchema(schema);
    // May use the schema, not create in it: PostgreSQL 15's `public` for every other user.
    await admin(`grant usage on schema ${schema} to ${role}`);
    const url = new URL(TEST_DATABASE_URL);
    url.username = role;
    url.searchParams.set('options', `-c search_path=${schema}`);
    const readOnly = new URL(TEST_DATABASE_URL);
    readOnly.searchParams.set(
      'options',
      `-c search_path=${schema} -c default_transaction_read_only=on`,
    );
    const cases: [URL, string][] = [
      [
        url,
        `permission denied for schema ${schema}; its user may not change the schema; grant it the rights, or run callhook migrate as its owner`,
      ],
      [
        readOnly,
        'cannot execute CREATE TABLE in a read-only transaction; the server or the session is read-only (a standby, default_transaction_read_only)',
      ],
    ];
    for (const [databaseUrl, why] of cases) {
      for (const args of COMMANDS) {
        const { outcome, stderr } = await refusal(args, {
          CALLHOOK_DATABASE_URL: databaseUrl.toString(),
          CALLHOOK_SECRET_KEY: 'ab'.repeat(32),
        });
        expect(outcome).toEqual({ code: 2, signal: null });
        expect(stderr).toEqual([
          `callhook: cannot migrate the PostgreSQL database (CALLHOOK_DATABASE_URL): ${why}`,
        ]);
      }
    }
  });

  it('refuses a PostgreSQL database a newer Callhook migrated', async () => {
    const url = await scope.postgresSchema(`t_refusal_${process.pid}`);
    const env = { CALLHOOK_DATABASE_URL: url, CALLHOOK_SECRET_KEY: 'ab'.repeat(32) };
    expect(await refusal(['migrate'], env)).toEqual({
      outcome: { code: 0, signal: null },
      stderr: [],
    });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query("insert into callhook_migrations values ('9999-from-the-future', 1)");
      for (const args of COMMANDS) {
        const { outcome, stderr } = await refusal(args, env);
        expect(outcome).toEqual({ code: 2, signal: null });
        expect(stderr).toEqual([
          'callhook: the PostgreSQL database (CALLHOOK_DATABASE_URL) was migrated by a newer Callhook (migration 9999-from-the-future, which this version does not know): run that version or a later one',
        ]);
      }
      const { rows } = await client.query('select count(*)::int as n from users');
      expect(rows[0]).toEqual({ n: 0 });
    } finally {
      await client.end();
    }
  });
});
