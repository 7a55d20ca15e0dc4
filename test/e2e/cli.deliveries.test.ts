import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createUserWithIntegration } from '../helpers/fixtures.js';
import { createTestStore, type TestStore } from '../helpers/store.js';
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
