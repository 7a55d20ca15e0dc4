/**
 * A worker process prunes history past CALLHOOK_RETENTION_DAYS when it starts, then hourly: with
 * only the hourly timer, a service restarted more often than hourly never pruned anything.
 */
import { afterEach, expect, it } from 'vitest';
import { openStore } from '../../src/store/db.js';
import { serviceHarness } from './service-harness.js';

const harness = serviceHarness('callhook-prune-');
afterEach(() => harness.release());

it('prunes events past the retention age when a worker process starts', async () => {
  const { config } = await harness.seeded(async ({ store, adminId, config }) => {
    const old = Date.now() - config.retentionMs - 86_400_000;
    await store.db
      .insertInto('events')
      .values({
        owner_id: adminId,
        id: 'ev-old',
        type: 'call.ended',
        campaign_id: 'spring',
        call_id: 'c-1',
        occurred_at: old,
        payload: '{}',
        received_at: old,
      })
      .execute();
  });

  await harness.start(config, { api: false, worker: true });
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
