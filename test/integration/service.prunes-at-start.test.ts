/**
 * A worker process prunes history past CALLHOOK_RETENTION_DAYS when it starts, then hourly: with
 * only the hourly timer, a service restarted more often than hourly never pruned anything.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService, type RunningService } from '../../src/main.js';
import { openStore } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrator.js';
import { AccountStore } from '../../src/store/account-store.js';

let service: RunningService | undefined;
let dir: string | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

it('prunes events past the retention age when a worker process starts', async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-prune-'));
  const config = loadConfig({ CALLHOOK_DATA_DIR: dir, CALLHOOK_PORT: '0' });
  const store = await openStore(config.database);
  try {
    await migrate(store);
    const user = await new AccountStore(store).createUser({
      email: 'ops@example.com',
      name: 'Ops',
      passwordHash: null,
      admin: true,
    });
    const old = Date.now() - config.retentionMs - 86_400_000;
    await store.db
      .insertInto('events')
      .values({
        owner_id: user.id,
        id: 'ev-old',
        type: 'call.ended',
        campaign_id: 'spring',
        call_id: 'c-1',
        occurred_at: old,
        payload: '{}',
        received_at: old,
      })
      .execute();
  } finally {
    await store.close();
  }

  service = await startService(config, createLogger('silent'), undefined, {
    api: false,
    worker: true,
  });
  const check = await openStore(config.database);
  try {
    let left = 1;
    for (let i = 0; i < 50 && left > 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = (await check.db.selectFrom('events').select('id').execute()).length;
    }
    expect(left).toBe(0);
  } finally {
    await check.close();
  }
});
