import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createUserWithIntegration } from '../helpers/fixtures.js';
import { createTestStore, type TestStore } from '../helpers/store.js';
import { enqueueDeliveries } from '../../src/store/delivery-store.js';

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
      stderr: 'callhook: no failed delivery d1 (only a failed delivery can be retried)\n',
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
    expect(await status()).toEqual({ d1: 'pending', d2: 'pending', d3: 'pending' });
  });
});
