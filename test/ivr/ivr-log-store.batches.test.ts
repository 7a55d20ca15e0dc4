/**
 * The IVR log writer stores every record of every batch, each value in its column, whatever the
 * batch's size (on SQLite the same one-row statements are reused across batches; on PostgreSQL a
 * batch is one multi-row insert per table).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import { createUserWithIntegration } from '../helpers/fixtures.js';
import { IvrLogStore, type IvrInvocationRecord } from '../../src/store/ivr-log-store.js';

describe.each(DIALECTS)('the IVR log writer on %s', (backend) => {
  let test: TestStore | undefined;
  afterEach(async () => {
    await test?.destroy().catch(() => undefined);
    test = undefined;
  });

  it('stores batches of any size, each value in its column', async () => {
    test = await createTestStore(backend);
    const { user, integration } = await createUserWithIntegration(test.store);
    const log = new IvrLogStore(test.store, { batchSize: 4, flushDelayMs: 1 });
    const record = (i: number): IvrInvocationRecord => ({
      id: `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`,
      ownerId: user.id,
      integrationId: integration.id,
      integrationVersion: integration.version,
      campaignId: i % 2 === 0 ? `camp-${i}` : null,
      contactId: `contact-${i}`,
      startedAt: 1_700_000_000_000 + i,
      durationMs: 10 + i,
      outcome: i % 3 === 0 ? 'timeout' : 'success',
      status: i % 3 === 0 ? null : 200,
      reason: i % 3 === 0 ? 'no response within the 100 ms deadline' : null,
      request: { method: 'GET', url: `https://x.example/?n=${i}`, headers: [], body: null },
      response:
        i % 3 === 0
          ? null
          : { status: 200, headers: [['x-n', String(i)]], body: `{"n":${i}}`, truncated: false },
      ...(i === 5 ? { cachedFrom: 'earlier' } : {}),
    });
    // 1, then 6 (a full batch of 4 and 2), then 3: three different batch sizes.
    for (const sizes of [[0], [1, 2, 3, 4, 5, 6], [7, 8, 9]]) {
      for (const i of sizes) log.append(record(i));
      await log.flush();
    }

    const deliveries = await test.store.db
      .selectFrom('deliveries')
      .selectAll()
      .where('kind', '=', 'ivr')
      .orderBy(sql.ref('id'))
      .execute();
    const attempts = await test.store.db
      .selectFrom('attempts')
      .selectAll()
      .orderBy(sql.ref('delivery_id'))
      .execute();
    expect(deliveries).toHaveLength(10);
    expect(attempts).toHaveLength(10);
    for (let i = 0; i < 10; i += 1) {
      const r = record(i);
      const failed = r.outcome !== 'success';
      expect(deliveries[i]).toMatchObject({
        id: r.id,
        owner_id: user.id,
        integration_id: integration.id,
        campaign_id: r.campaignId,
        contact_id: r.contactId,
        status: failed ? 'failed' : 'succeeded',
        last_error: r.reason,
        last_status: r.status,
      });
      expect(Number(deliveries[i]!.created_at)).toBe(r.startedAt);
      expect(Number(deliveries[i]!.completed_at)).toBe(r.startedAt + r.durationMs);
      const attempt = attempts[i]!;
      expect(attempt).toMatchObject({
        delivery_id: r.id,
        attempt: 1,
        outcome: failed ? 'failed' : 'succeeded',
        error: failed ? `timeout: ${r.reason}` : null,
      });
      expect(Number(attempt.duration_ms)).toBe(r.durationMs);
      expect(JSON.parse(String(attempt.request))).toEqual(r.request);
      const response = attempt.response === null ? null : JSON.parse(String(attempt.response));
      expect(response).toEqual(
        r.response === null
          ? null
          : {
              status: 200,
              headers: [['x-n', String(i)]],
              body: `{"n":${i}}`,
              bodyTruncated: false,
              ivrOutcome: 'success',
              ...(i === 5 ? { cachedFrom: 'earlier' } : {}),
            },
      );
    }
  });
});
