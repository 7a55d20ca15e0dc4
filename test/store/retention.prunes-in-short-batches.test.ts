import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, createTestStore, type TestStore } from '../helpers/store.js';
import { pruneHistory } from '../../src/store/retention-store.js';
import { CHUNK } from '../../src/store/delivery-store.js';
import { seedIntegration, seedOwner } from '../queue/queue-fixtures.js';

// SQLite runs statements on the process's main thread (better-sqlite3): one long statement stops
// the API and the workers for as long as it runs. A month of history is pruned in short batches
// (on PostgreSQL too, where the statements run in the server).
describe.each(DIALECTS)('pruning a large backlog on %s', (backend) => {
  let t: TestStore;
  let owner: string;
  let integration: string;

  beforeEach(async () => {
    t = await createTestStore(backend);
    owner = await seedOwner(t.store);
    integration = await seedIntegration(t.store, owner);
  });
  afterEach(async () => {
    await t.destroy();
  });

  /** `count` old events, each with a delivery (the first `pending` of them still pending) and two attempts. */
  async function backlog(count: number, pending: number): Promise<void> {
    const db = t.store.db;
    for (let i = 0; i < count; i += CHUNK) {
      const ids = Array.from({ length: Math.min(CHUNK, count - i) }, (_, k) => i + k);
      await db
        .insertInto('events')
        .values(
          ids.map((n) => ({
            owner_id: owner,
            id: `e${n}`,
            type: 'call.ended',
            campaign_id: 'campaign-1',
            call_id: null,
            occurred_at: 1,
            payload: '{}',
            received_at: 1,
          })),
        )
        .execute();
      await db
        .insertInto('deliveries')
        .values(
          ids.map((n) => ({
            id: `d${n}`,
            owner_id: owner,
            integration_id: integration,
            kind: 'event',
            event_id: `e${n}`,
            sequence: 0,
            status: n < pending ? 'pending' : 'succeeded',
            attempts: 2,
            next_attempt_at: 1,
            created_at: 1,
            updated_at: 1,
          })),
        )
        .execute();
      await db
        .insertInto('attempts')
        .values(
          ids.flatMap((n) =>
            [1, 2].map((attempt) => ({
              delivery_id: `d${n}`,
              attempt,
              integration_version: 1,
              started_at: 1,
              duration_ms: 1,
              outcome: 'retry',
              request: '{}',
              response: null,
              error: null,
            })),
          ),
        )
        .execute();
    }
  }

  it('never stops the process for long, and keeps the events of pending deliveries', async () => {
    await backlog(8_000, 2_000);
    // How long the event loop was stopped at most while the prune ran.
    let longest = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 5);
    try {
      const pruned = await pruneHistory(t.store.db, 2);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(pruned).toEqual({ attempts: 16_000, events: 6_000 });
    } finally {
      clearInterval(timer);
    }
    expect(longest).toBeLessThan(500);
    const left = await t.store.db.selectFrom('events').select('id').execute();
    expect(left).toHaveLength(2_000);
    expect(left.every((event) => Number(event.id.slice(1)) < 2_000)).toBe(true);
  });
});
