/**
 * Claims and completions commit without waiting for the disk (at-least-once delivery survives
 * losing them in a power cut); every other write transaction, and every later one on the same
 * connection, commits durably again, also after a transaction that failed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestStore, DIALECTS, type TestStore } from '../helpers/store.js';
import type { Store } from '../../src/store/db.js';
import { inWriteTransaction } from '../../src/store/write-transaction.js';
import { DeliveryQueue } from '../../src/queue/delivery-queue.js';
import {
  FakeClock,
  attemptRecord,
  delivery,
  enqueue,
  seedIntegration,
  seedOwner,
} from './queue-fixtures.js';

/** The connection's durability setting: SQLite `synchronous` (2 full, 1 normal), PG `synchronous_commit`. */
async function durability(store: Store, trx = store.db): Promise<string> {
  if (store.backend === 'sqlite') {
    const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(trx);
    return rows[0]!.synchronous === 2 ? 'full' : rows[0]!.synchronous === 1 ? 'normal' : '?';
  }
  const { rows } = await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(trx);
  return rows[0]!.synchronous_commit === 'on' ? 'full' : rows[0]!.synchronous_commit;
}

describe.each(DIALECTS)('lazy commits on %s', (backend) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await createTestStore(backend);
  });
  afterEach(async () => {
    await t.destroy();
  });

  const lazy = backend === 'sqlite' ? 'normal' : 'off';

  it('relaxes only the transaction asked, and restores durability after it', async () => {
    expect(await inWriteTransaction(t.store, (trx) => durability(t.store, trx))).toBe('full');
    expect(
      await inWriteTransaction(t.store, (trx) => durability(t.store, trx), { durable: false }),
    ).toBe(lazy);
    expect(await inWriteTransaction(t.store, (trx) => durability(t.store, trx))).toBe('full');
  });

  it('restores durability and rolls back after a transaction that failed', async () => {
    const owner = await seedOwner(t.store);
    await expect(
      inWriteTransaction(
        t.store,
        async (trx) => {
          await trx.updateTable('users').set({ name: 'changed' }).where('id', '=', owner).execute();
          throw new Error('boom');
        },
        { durable: false },
      ),
    ).rejects.toThrow('boom');
    expect(await inWriteTransaction(t.store, (trx) => durability(t.store, trx))).toBe('full');
    const user = await t.store.db
      .selectFrom('users')
      .select('name')
      .where('id', '=', owner)
      .executeTakeFirstOrThrow();
    expect(user.name).toBe('Owner');
  });

  // PostgreSQL only: its lazy `begin` is two statements; SQLite's is `begin immediate` alone.
  if (backend === 'postgres')
    it('rolls back a lazy transaction whose opening failed after its begin: the connection is clean', async () => {
      // All on one connection: the one the failure happened on is the one checked after.
      await t.store.db.connection().execute(async (conn) => {
        const broken: Store = {
          ...t.store,
          db: conn,
          lazyCommit: {
            ...t.store.lazyCommit,
            begin: 'begin; set local synchronous_commit = bogus',
          },
        };
        await expect(inWriteTransaction(broken, async () => 1, { durable: false })).rejects.toThrow(
          /synchronous_commit/,
        );
        // Left in the aborted transaction, every later statement would fail with "current
        // transaction is aborted".
        const { rows } = await sql<{ n: number }>`select 1 as n`.execute(conn);
        expect(rows).toEqual([{ n: 1 }]);
        expect(await inWriteTransaction({ ...t.store, db: conn }, async () => 2)).toBe(2);
      });
    });

  it('says so when durability cannot be restored after a lazy transaction', async () => {
    const broken: Store = {
      ...t.store,
      lazyCommit: { ...t.store.lazyCommit, after: ['select * from no_such_table'] },
    };
    await expect(inWriteTransaction(broken, async () => 1, { durable: false })).rejects.toThrow(
      'could not restore durable commits ("select * from no_such_table")',
    );
  });

  it('uses it for claims and completions, not for retry, cancel or enqueue', async () => {
    let lazyTransactions = 0;
    const counting: Store = Object.create(t.store, {
      lazyCommit: {
        get: () => {
          lazyTransactions += 1;
          return t.store.lazyCommit;
        },
      },
    }) as Store;
    const clock = new FakeClock();
    const queue = new DeliveryQueue(counting, { clock: clock.now });
    const owner = await seedOwner(t.store);
    const integration = await seedIntegration(t.store, owner);
    const items = [delivery(owner, integration), delivery(owner, integration)];
    await enqueue(counting, queue, items);
    expect(lazyTransactions).toBe(0);
    const [claimed] = await queue.claim('w1', 1);
    expect(lazyTransactions).toBe(1);
    await queue.complete(claimed!, {
      decision: { kind: 'failed', reason: 'HTTP 400' },
      health: 'up',
      lastStatus: 400,
      error: 'HTTP 400',
      record: attemptRecord(clock.ms, 'HTTP 400'),
    });
    expect(lazyTransactions).toBe(2);
    expect(await queue.retryNow(claimed!.id)).toBe(true);
    expect(await queue.cancel(items[1]!.id)).toBe(true);
    expect(lazyTransactions).toBe(2);
  });
});
