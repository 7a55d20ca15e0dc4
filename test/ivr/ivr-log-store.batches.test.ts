/**
 * The IVR log writer stores every record of every batch, each value in its column, whatever the
 * batch's size (on SQLite in a worker thread with its own connection; on PostgreSQL a batch is one
 * multi-row insert per table). A batch it cannot store is reported with its count, and the
 * records after it are stored.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import { createUserWithIntegration } from '../helpers/fixtures.js';
import { IvrLogStore, type IvrInvocationRecord } from '../../src/store/ivr-log-store.js';

function recordOf(
  owner: { user: { id: string }; integration: { id: string; version: number } },
  i: number,
): IvrInvocationRecord {
  const { user, integration } = owner;
  return {
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
  };
}

/** What the writer reports lost, as `{ count, message, code }`, and the `onError` that collects it. */
function lostRecords() {
  const lost: { count: number; message: string; code: unknown }[] = [];
  const onError = (error: unknown, count: number) =>
    lost.push({ count, message: String(error), code: (error as { code?: unknown }).code });
  return { lost, onError };
}

describe.each(DIALECTS)('the IVR log writer on %s', (backend) => {
  let test: TestStore | undefined;
  afterEach(async () => {
    await test?.destroy().catch(() => undefined);
    test = undefined;
  });

  it('stores batches of any size, each value in its column', async () => {
    test = await createTestStore(backend);
    const owner = await createUserWithIntegration(test.store);
    const { user, integration } = owner;
    const log = new IvrLogStore(test.store, { batchSize: 4, flushDelayMs: 1 });
    const record = (i: number) => recordOf(owner, i);
    // 1, then 6 (a full batch of 4 and 2), then 3: three different batch sizes.
    for (const sizes of [[0], [1, 2, 3, 4, 5, 6], [7, 8, 9]]) {
      for (const i of sizes) log.append(record(i));
      await log.flush();
    }
    await log.close();

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

  it('reports a batch it cannot store with its count, and stores the batches after it', async () => {
    test = await createTestStore(backend);
    const owner = await createUserWithIntegration(test.store);
    const { lost, onError } = lostRecords();
    const log = new IvrLogStore(test.store, {
      flushDelayMs: 1,
      onError,
    });
    // Two records of an integration that does not exist: the foreign key refuses their batch.
    log.append({ ...recordOf(owner, 1), integrationId: 'no-such-integration' });
    log.append({ ...recordOf(owner, 2), integrationId: 'no-such-integration' });
    await log.flush();
    log.append(recordOf(owner, 3));
    await log.close();
    expect(lost).toHaveLength(1);
    expect(lost[0]!.count).toBe(2);
    expect(lost[0]!.message).toMatch(/foreign key/i);
    // The code crosses from the SQLite log thread too.
    expect(lost[0]!.code).toBe(backend === 'sqlite' ? 'SQLITE_CONSTRAINT_FOREIGNKEY' : '23503');
    const stored = await test.store.db
      .selectFrom('deliveries')
      .select('id')
      .where('kind', '=', 'ivr')
      .execute();
    expect(stored.map((row) => row.id)).toEqual([recordOf(owner, 3).id]);
  });
});

describe('the IVR log writer on sqlite, in its own thread', () => {
  let test: TestStore | undefined;
  afterEach(async () => {
    await test?.destroy().catch(() => undefined);
    test = undefined;
  });

  it('writes while the event loop goes on: a lock held here delays the log, not this thread', async () => {
    test = await createTestStore('sqlite');
    const owner = await createUserWithIntegration(test.store);
    const log = new IvrLogStore(test.store);
    // The main connection takes the write lock and keeps it while timers fire here.
    await sql`begin immediate`.execute(test.store.db);
    try {
      log.append(recordOf(owner, 1));
      let flushed = false;
      const flush = log.flush().then(() => (flushed = true));
      let ticks = 0;
      const deadline = Date.now() + 300;
      while (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        ticks += 1;
      }
      // A write on this thread would have blocked it for the whole busy timeout (10 s).
      expect(ticks).toBeGreaterThanOrEqual(3);
      expect(flushed).toBe(false);
      await sql`commit`.execute(test.store.db);
      await flush;
    } finally {
      await sql`rollback`.execute(test.store.db).catch(() => undefined);
    }
    await log.close();
    const stored = await test.store.db.selectFrom('deliveries').select('id').execute();
    expect(stored.map((row) => row.id)).toEqual([recordOf(owner, 1).id]);
  });

  it('reports every record lost when the database file cannot be opened, and does not hang', async () => {
    test = await createTestStore('sqlite');
    const owner = await createUserWithIntegration(test.store);
    const { lost, onError } = lostRecords();
    const gone = { ...test.store, file: `${test.location}/missing/callhook.db` };
    const log = new IvrLogStore(gone, {
      onError,
    });
    log.append(recordOf(owner, 1));
    log.append(recordOf(owner, 2));
    await log.flush();
    log.append(recordOf(owner, 3));
    await log.close();
    expect(lost.map((entry) => entry.count)).toEqual([2, 1]);
    expect(lost[0]!.message).toMatch(/open database/i);
  });

  it('flushes and closes at once when nothing was logged, and reports a record after close', async () => {
    test = await createTestStore('sqlite');
    const owner = await createUserWithIntegration(test.store);
    const { lost, onError } = lostRecords();
    const log = new IvrLogStore(test.store, {
      onError,
    });
    await log.flush();
    await log.close();
    log.append(recordOf(owner, 1));
    expect(lost).toEqual([{ count: 1, message: 'Error: the IVR log is closed' }]);
  });

  it('reports the records of a thread that died as lost, and starts another for the next', async () => {
    test = await createTestStore('sqlite');
    const owner = await createUserWithIntegration(test.store);
    const { lost, onError } = lostRecords();
    const log = new IvrLogStore(test.store, {
      threadScript: new URL('./fixtures/dying-log-thread.mjs', import.meta.url),
      onError,
    });
    log.append(recordOf(owner, 1));
    log.append(recordOf(owner, 2));
    await log.flush();
    log.append(recordOf(owner, 3));
    await log.flush();
    await log.close();
    expect(lost).toEqual([
      { count: 2, message: 'Error: the log thread exited (3)' },
      { count: 1, message: 'Error: the log thread exited (3)' },
    ]);
  });
});
