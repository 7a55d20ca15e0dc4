/**
 * A worker process prunes history past CALLHOOK_RETENTION_DAYS (and the dashboard's activity past
 * CALLHOOK_ACTIVITY_RETENTION_DAYS) when it starts, then hourly: with only the hourly timer, a
 * service restarted more often than hourly never pruned anything.
 */
import { afterEach, expect, it } from 'vitest';
import { openStore } from '../../src/store/db.js';
import { serviceHarness } from './service-harness.js';

const harness = serviceHarness('callhook-prune-');
afterEach(() => harness.release());

it('prunes events and activity past their retention ages when a worker process starts', async () => {
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
    const minute = 60_000;
    const oldMinute = Date.now() - config.activityRetentionMs - 10 * minute;
    const keptMinute = Date.now() - config.activityRetentionMs + 10 * minute;
    await store.db
      .insertInto('activity')
      .values(
        [oldMinute, keptMinute].map((at) => ({
          minute: at - (at % minute),
          owner_id: adminId,
          process_id: at === oldMinute ? 'process-old' : 'process-kept',
          succeeded: 1,
          failed: 0,
          retried: 0,
          events: 0,
        })),
      )
      .execute();
  });

  await harness.start(config, { api: false, worker: true });
  const check = await openStore(config.database);
  try {
    const activity = async () =>
      (await check.db.selectFrom('activity').select('process_id').execute()).map(
        (r) => r.process_id,
      );
    let left = 1;
    for (let i = 0; i < 50 && (left > 0 || (await activity()).length > 1); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = (await check.db.selectFrom('events').select('id').execute()).length;
    }
    expect(left).toBe(0);
    expect(await activity()).toEqual(['process-kept']);
  } finally {
    await check.close();
  }
});
