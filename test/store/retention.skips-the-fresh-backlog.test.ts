/**
 * Pruning old events must not read the whole pending backlog: under a long outage a million
 * deliveries are pending, all of fresh events, and a statement that listed every one of them
 * held SQLite (the process's main thread) close to a second per 1,000 events pruned. Only pending
 * deliveries created before the cut-off (plus the margin of one ingest transaction) can need an
 * old event; those are an index range of `deliveries_integration`.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestStore, type TestStore } from '../helpers/store.js';
import { explainEventPrune, pruneHistory } from '../../src/store/retention-store.js';
import { CHUNK } from '../../src/store/delivery-store.js';
import { seedIntegration, seedOwner } from '../queue/queue-fixtures.js';

const HOUR = 3_600_000;
const CUT = 100 * HOUR;

describe.each(DIALECTS)('pruning events next to a large fresh backlog on %s', (backend) => {
  let t: TestStore;
  let owner: string;
  let integrations: string[];

  beforeAll(async () => {
    t = await createTestStore(backend);
    owner = await seedOwner(t.store);
    integrations = [await seedIntegration(t.store, owner), await seedIntegration(t.store, owner)];
    // The backlog: 20,000 pending deliveries of events received after the cut-off.
    await seed('fresh', 20_000, CUT + HOUR, 'pending');
    // History: old events whose deliveries ended, and old ones still needed.
    await seed('done', 1_500, CUT - 10 * HOUR, 'succeeded');
    await seed('failed', 10, CUT - 10 * HOUR, 'failed');
    // Still pending: a delivery stored in its event's transaction a few ms after the event, and
    // an old one requeued by a replay (its `created_at` stays as it was).
    await seed('slow-tx', 5, CUT - 1, 'pending', 2_000);
    await seed('replayed', 5, CUT - 50 * HOUR, 'pending');
    // Statistics as a long-running database has them (PostgreSQL's autovacuum; an `analyze` on
    // SQLite), under which both planners would rather scan every delivery.
    await sql`analyze`.execute(t.store.db);
  });
  afterAll(async () => {
    await t?.destroy();
  });

  /** `count` events received at `receivedAt`, each with one delivery in `status`. */
  async function seed(
    prefix: string,
    count: number,
    receivedAt: number,
    status: string,
    storedAfterMs = 0,
  ): Promise<void> {
    const db = t.store.db;
    for (let i = 0; i < count; i += CHUNK) {
      const ids = Array.from({ length: Math.min(CHUNK, count - i) }, (_, k) => i + k);
      await db
        .insertInto('events')
        .values(
          ids.map((n) => ({
            owner_id: owner,
            id: `${prefix}-${n}`,
            type: 'call.ended',
            campaign_id: 'campaign-1',
            call_id: null,
            occurred_at: receivedAt,
            payload: '{}',
            received_at: receivedAt,
          })),
        )
        .execute();
      await db
        .insertInto('deliveries')
        .values(
          ids.map((n) => ({
            id: `d-${prefix}-${n}`,
            owner_id: owner,
            integration_id: integrations[n % 2]!,
            kind: 'event',
            event_id: `${prefix}-${n}`,
            sequence: 0,
            status,
            attempts: 1,
            next_attempt_at: receivedAt,
            created_at: receivedAt + storedAfterMs,
            updated_at: receivedAt + storedAfterMs,
          })),
        )
        .execute();
    }
  }

  it('finds the pending deliveries of old events through an index range, not the backlog', async () => {
    const plan = await explainEventPrune(t.store.db, CUT);
    expect(plan).toContain('deliveries_integration');
    expect(plan).not.toMatch(/Seq Scan on deliveries|SCAN deliveries(?! USING)|deliveries_lane/);
  });

  it('prunes the old events no pending delivery needs, and keeps those one does', async () => {
    const result = await pruneHistory(t.store.db, CUT);
    expect(result.events).toBe(1_510);
    const left = await t.store.db
      .selectFrom('events')
      .select(({ fn }) => fn.countAll<number>().as('n'))
      .where('received_at', '<', CUT)
      .executeTakeFirstOrThrow();
    expect(Number(left.n)).toBe(10);
    const kept = await t.store.db
      .selectFrom('events')
      .select('id')
      .where('received_at', '<', CUT)
      .orderBy('id')
      .execute();
    expect(kept.map((row) => row.id.replace(/-\d+$/, ''))).toEqual([
      ...Array<string>(5).fill('replayed'),
      ...Array<string>(5).fill('slow-tx'),
    ]);
  });
});
