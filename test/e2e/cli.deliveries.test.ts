import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createUserWithIntegration } from '../helpers/fixtures.js';
import {
  createTestStore,
  DIALECTS,
  postgresUrlWithSchema,
  TEST_DATABASE_URL,
  type TestStore,
} from '../helpers/store.js';
import { enqueueDeliveries } from '../../src/store/delivery-store.js';
import { deliveryRow } from '../../src/store/ivr-log-rows.js';

const run = promisify(execFile);
const BIN = path.resolve('dist/cli/index.js');

describe('callhook deliveries retry | replay', () => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.destroy();
    t = undefined;
  });

  it('puts failed deliveries back to pending, one or all of an integration since a time', async () => {
    t = await createTestStore('sqlite');
    const { user, integration } = await createUserWithIntegration(t.store, { admin: true });
    const db = t.store.db;
    await enqueueDeliveries(
      db,
      ['d1', 'd2', 'd3'].map((id) => ({ id, ownerId: user.id, integrationId: integration.id })),
    );
    await db.updateTable('deliveries').set({ status: 'failed', attempts: 3 }).execute();
    const cli = (...args: string[]) =>
      run(process.execPath, [BIN, ...args], {
        env: {
          PATH: process.env['PATH'] ?? '',
          CALLHOOK_DATA_DIR: t!.location,
          CALLHOOK_LOG_LEVEL: 'warn',
        },
      });
    const status = async () =>
      Object.fromEntries(
        (await db.selectFrom('deliveries').select(['id', 'status']).execute()).map((r) => [
          r.id,
          r.status,
        ]),
      );

    expect((await cli('deliveries', 'retry', 'd1')).stdout).toBe('delivery d1 is pending again\n');
    expect(await status()).toEqual({ d1: 'pending', d2: 'failed', d3: 'failed' });
    await expect(cli('deliveries', 'retry', 'd1')).rejects.toMatchObject({
      code: 2,
      stderr: 'callhook: delivery d1 is pending; only a failed delivery can be retried\n',
    });
    await expect(cli('deliveries', 'retry', 'nope')).rejects.toMatchObject({
      code: 2,
      stderr: 'callhook: no delivery nope\n',
    });
    await expect(
      cli('deliveries', 'replay', integration.id, '--since', 'yesterday'),
    ).rejects.toMatchObject({ code: 2 });
    const replay = await cli(
      'deliveries',
      'replay',
      integration.id,
      '--since',
      '2020-01-01T00:00:00Z',
    );
    expect(replay.stdout).toBe(`2 failed deliveries of ${integration.id} are pending again\n`);
    // Run as a replay job, here in the CLI's process, with its progress on stderr.
    const [job] = await db.selectFrom('replay_jobs').selectAll().execute();
    expect(job).toMatchObject({ status: 'succeeded', total: 2, requeued: 2 });
    expect(replay.stderr).toContain(`replay job ${job!.id}: 2 of 2 requeued\n`);
    await expect(
      cli('deliveries', 'replay', 'nope', '--since', '2020-01-01T00:00:00Z'),
    ).rejects.toMatchObject({ code: 2, stderr: 'callhook: no integration nope\n' });
    expect(await status()).toEqual({ d1: 'pending', d2: 'pending', d3: 'pending' });
  });

  it('refuses to retry an IVR invocation, with exit code 2, and leaves it failed', async () => {
    t = await createTestStore('sqlite');
    const { user, integration } = await createUserWithIntegration(t.store, { admin: true });
    const invocation = deliveryRow({
      id: 'ivr1',
      ownerId: user.id,
      integrationId: integration.id,
      integrationVersion: 1,
      campaignId: null,
      contactId: null,
      startedAt: Date.now(),
      durationMs: 5,
      outcome: 'error',
      status: null,
      reason: 'connection refused',
      request: null,
      response: null,
    });
    await t.store.db.insertInto('deliveries').values(invocation).execute();
    await expect(
      run(process.execPath, [BIN, 'deliveries', 'retry', 'ivr1'], {
        env: {
          PATH: process.env['PATH'] ?? '',
          CALLHOOK_DATA_DIR: t.location,
          CALLHOOK_LOG_LEVEL: 'warn',
        },
      }),
    ).rejects.toMatchObject({
      code: 2,
      stdout: '',
      stderr:
        'callhook: ivr1 is an IVR invocation: it is answered once, while the caller waits, and cannot be retried\n',
    });
    const row = await t.store.db
      .selectFrom('deliveries')
      .select('status')
      .where('id', '=', 'ivr1')
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
  });
});

// Ctrl-C while `callhook deliveries replay` runs its job cancels the job after the batch under
// way: what it requeued stays pending, the rest stays failed, and nothing holds a lease that a
// worker would wait 30 s for.
describe.each(DIALECTS)('callhook deliveries replay stopped by Ctrl-C on %s', (backend) => {
  let t: TestStore | undefined;
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    child = undefined;
    await t?.destroy();
    t = undefined;
  });

  /** The first line of `lines` (the CLI's stderr) that `match` accepts. */
  const lineOf = (lines: readline.Interface, match: (line: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const seen: string[] = [];
      const onLine = (line: string) => {
        seen.push(line);
        if (!match(line)) return;
        lines.off('line', onLine);
        resolve(line);
      };
      lines.on('line', onLine);
      lines.once('close', () =>
        reject(new Error(`stderr closed before the line came:\n${seen.join('\n')}`)),
      );
    });

  it('cancels the job after the batch under way; what it requeued stays pending', async () => {
    t = await createTestStore(backend);
    const { user, integration } = await createUserWithIntegration(t.store, { admin: true });
    const db = t.store.db;
    // PostgreSQL: a batch waits on a row lock, so the job is stopped exactly where the test says.
    // SQLite has no row locks: 80 batches, so that the job is still running when the test takes
    // the write lock.
    const total = backend === 'postgres' ? 3_000 : 40_000;
    const failedDeliveries = async () => {
      await db.deleteFrom('replay_jobs').execute();
      await db.deleteFrom('deliveries').execute();
      await enqueueDeliveries(
        db,
        Array.from({ length: total }, (_, i) => ({
          id: `d${String(i).padStart(5, '0')}`,
          ownerId: user.id,
          integrationId: integration.id,
        })),
      );
      await db.updateTable('deliveries').set({ status: 'failed', attempts: 1 }).execute();
    };
    await failedDeliveries();
    const countOf = async (status: string) =>
      (await db.selectFrom('deliveries').select('id').where('status', '=', status).execute())
        .length;

    let locker: pg.Client | undefined;
    if (backend === 'postgres') {
      // The third batch of 500 (deliveries 1,000 to 1,499, by creation time then id) waits.
      locker = new pg.Client({
        connectionString: TEST_DATABASE_URL,
        options: `-c search_path=${t.location}`,
      });
      await locker.connect();
      await locker.query('begin');
      await locker.query(`select id from deliveries where id = 'd01200' for update`);
    }
    try {
      let stdout = '';
      const stderr: string[] = [];
      let exited: Promise<number | null>;
      // SQLite: a test process slowed by a loaded machine can read the first batch's line after
      // the job's last batch; the replay is then run again from the start, at most 3 times.
      for (let run = 1; ; run += 1) {
        child = spawn(
          process.execPath,
          [BIN, 'deliveries', 'replay', integration.id, '--since', '2020-01-01T00:00:00Z'],
          {
            env: {
              PATH: process.env['PATH'] ?? '',
              CALLHOOK_LOG_LEVEL: 'warn',
              ...(backend === 'postgres'
                ? {
                    CALLHOOK_DATABASE_URL: postgresUrlWithSchema(t.location),
                    CALLHOOK_SECRET_KEY: 'cd'.repeat(32),
                  }
                : { CALLHOOK_DATA_DIR: t.location }),
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        stdout = '';
        stderr.length = 0;
        child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        const lines = readline.createInterface({ input: child.stderr! });
        lines.on('line', (line) => stderr.push(line));
        const spawned = child;
        exited = new Promise<number | null>((resolve) => spawned.once('exit', resolve));

        if (locker !== undefined) {
          await lineOf(lines, (line) => line.endsWith(`: 1000 of ${total} requeued`));
          child.kill('SIGINT');
          await lineOf(lines, (line) => line.includes('SIGINT: cancelling replay job'));
          // Its batch under way goes through once the lock is gone; then no other.
          await locker.query('rollback');
          break;
        }
        await lineOf(lines, (line) => line.endsWith(`: 500 of ${total} requeued`));
        // Holding the write lock, the CLI's next batch waits; the signal is taken after it.
        const other = new SqliteDatabase(path.join(t.location, 'callhook.db'));
        try {
          other.exec('begin immediate');
          const job = other.prepare('select status, requeued from replay_jobs').get() as {
            status: string;
            requeued: number;
          };
          // Far enough from its end that the batch under way, let go after the signal, is not
          // its last.
          if (job.status === 'running' && job.requeued <= total - 1_000) {
            child.kill('SIGINT');
            await new Promise((resolve) => setTimeout(resolve, 300));
            other.exec('rollback');
            break;
          }
          other.exec('rollback');
          if (run === 3)
            throw new Error('the job ran to its end before the test could stop it, 3 times');
        } finally {
          other.close();
        }
        await exited;
        await failedDeliveries();
      }

      expect(await exited, stderr.join('\n')).toBe(130);
      const [job] = await db.selectFrom('replay_jobs').selectAll().execute();
      expect(job).toMatchObject({ status: 'cancelled', total, lease_owner: null });
      if (backend === 'postgres') expect(job!.requeued).toBe(1_500);
      expect(job!.requeued).toBeLessThan(total);
      expect(await countOf('pending')).toBe(job!.requeued);
      expect(await countOf('failed')).toBe(total - job!.requeued);
      expect(stdout).toBe(
        `${job!.requeued} failed deliveries of ${integration.id} are pending again\n`,
      );
      expect(stderr).toContain(
        `callhook: replay job ${job!.id} cancelled by SIGINT after ${job!.requeued} of ${total} ` +
          'requeued (those stay pending)',
      );
    } finally {
      await locker?.end();
    }
  });
});
