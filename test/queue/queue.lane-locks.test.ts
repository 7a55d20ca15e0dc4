/**
 * PostgreSQL only (SQLite runs one write transaction at a time): the lane rows that claims,
 * ingests and completions share. A trigger holds a transaction at the chosen step (`pg_sleep`
 * inside a lane update) so the other one runs in the window it would otherwise hit by chance.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestStore, type TestStore } from '../helpers/store.js';
import { DeliveryQueue, type CompletedAttempt } from '../../src/queue/delivery-queue.js';
import type { ClaimedDelivery } from '../../src/store/delivery-store.js';
import { NEVER } from '../../src/store/lane-store.js';
import { inWriteTransaction } from '../../src/store/write-transaction.js';
import {
  FakeClock,
  attemptRecord,
  delivery,
  enqueue,
  seedIntegration,
  seedOwner,
} from './queue-fixtures.js';

describe('lane locks on postgres', () => {
  let t: TestStore;
  let clock: FakeClock;
  let queue: DeliveryQueue;
  let owner: string;

  beforeEach(async () => {
    t = await createTestStore('postgres');
    clock = new FakeClock();
    queue = new DeliveryQueue(t.store, { clock: clock.now });
    owner = await seedOwner(t.store);
  });
  afterEach(async () => {
    await t.destroy();
  });

  /**
   * Updates of `table` matching `condition` (over `old` and `new`) sleep `seconds`, their
   * connection named after this test's schema meanwhile (other tests may run alongside): `before`
   * the row is written, or `after` (its row lock then held through the sleep).
   */
  async function pauseUpdates(
    table: 'delivery_lanes' | 'deliveries',
    when: 'before' | 'after',
    condition: string,
    seconds: number,
  ): Promise<void> {
    await sql
      .raw(
        `create function pause_${table}() returns trigger language plpgsql as $$
         begin
           if ${condition} then
             perform set_config('application_name', 'paused ${t.location}', true);
             perform pg_sleep(${seconds});
           end if;
           return new;
         end $$`,
      )
      .execute(t.store.db);
    await sql
      .raw(
        `create trigger pause_${table} ${when} update on ${table}
         for each row execute function pause_${table}()`,
      )
      .execute(t.store.db);
  }
  const pauseLaneUpdates = (condition: string, seconds: number) =>
    pauseUpdates('delivery_lanes', 'before', condition, seconds);

  /** Waits until `count` transactions of this test sleep inside the trigger. */
  async function untilPaused(count: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const { rows } = await sql<{ n: string }>`
        select count(*) as n from pg_stat_activity
        where wait_event = 'PgSleep' and application_name = ${`paused ${t.location}`}`.execute(
        t.store.db,
      );
      if (Number(rows[0]!.n) >= count) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${count} lane update(s) never reached the pause`);
  }

  /** `work`'s result, or a failure naming `what` when it takes longer than `ms`. */
  async function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} waited over ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  const succeeded = (): CompletedAttempt => ({
    decision: { kind: 'succeeded' },
    health: 'up',
    record: attemptRecord(clock.ms),
    lastStatus: 200,
    error: null,
  });
  const retried = (): CompletedAttempt => ({
    decision: { kind: 'retry', at: clock.ms + 60_000, reason: 'HTTP 503' },
    health: 'down',
    record: attemptRecord(clock.ms, 'HTTP 503'),
    lastStatus: 503,
    error: 'HTTP 503',
  });

  /**
   * Two integrations, A and B, and the claims of two workers: `w1` two deliveries of A and one
   * of B, `w2` two of B and one of A. Both lanes are then marked as having failed once.
   */
  async function mixedBatches(): Promise<{
    a: string;
    b: string;
    w1: ClaimedDelivery[];
    w2: ClaimedDelivery[];
  }> {
    const a = await seedIntegration(t.store, owner);
    const b = await seedIntegration(t.store, owner);
    const batch = async (worker: string, twice: string, once: string) => {
      await enqueue(t.store, queue, [
        delivery(owner, twice),
        delivery(owner, twice),
        delivery(owner, once),
      ]);
      return queue.claim(worker, 10);
    };
    const w1 = await batch('w1', a, b);
    const w2 = await batch('w2', b, a);
    await t.store.db.updateTable('delivery_lanes').set({ consecutive_failures: 1 }).execute();
    return { a, b, w1, w2 };
  }

  it('a delivery stored while a claim runs its lane dry is not hidden behind the claim', async () => {
    const integration = await seedIntegration(t.store, owner);
    await enqueue(t.store, queue, [delivery(owner, integration)]);
    const [first] = await queue.claim('w0', 10);
    await queue.complete(first!, succeeded());
    // The lane's bound is a lower bound: due now, with nothing pending, is a state a lane can be in.
    await t.store.db
      .updateTable('delivery_lanes')
      .set({ next_due_at: clock.ms })
      .where('integration_id', '=', integration)
      .execute();
    // The claim finds nothing, reads the earliest pending (none) and pauses before it writes "never".
    await pauseLaneUpdates(
      `new.next_due_at = ${NEVER} and old.next_due_at <> new.next_due_at`,
      0.5,
    );

    const claiming = queue.claim('w1', 10);
    await untilPaused(1);
    const late = delivery(owner, integration);
    await enqueue(t.store, queue, [late]);
    expect(await claiming).toEqual([]);

    const claimed = await queue.claim('w1', 10);
    expect(claimed.map((claim) => claim.id)).toEqual([late.id]);
  });

  it('an open ingest holds up neither another ingest nor a claim of the same integration', async () => {
    const integration = await seedIntegration(t.store, owner);
    const first = delivery(owner, integration);
    await enqueue(t.store, queue, [first]);
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    let stored!: () => void;
    const storing = new Promise<void>((resolve) => (stored = resolve));
    const open = inWriteTransaction(t.store, async (trx) => {
      await queue.enqueue(trx, [delivery(owner, integration)]);
      stored();
      await held;
    });
    try {
      await storing;
      const other = delivery(owner, integration);
      // Each must finish while the first ingest stays open: a wait on it would never end.
      await within(1_000, enqueue(t.store, queue, [other]), 'the second ingest');
      const claimed = await within(1_000, queue.claim('w1', 10), 'the claim');
      expect(claimed.map((claim) => claim.id).sort()).toEqual([first.id, other.id].sort());
    } finally {
      finish();
      await open;
    }
    expect(await queue.claim('w1', 10)).toHaveLength(1);
  });

  it('two workers completing mixed batches over the same lanes do not deadlock', async () => {
    // Worker 1: two successes on A (the set-based path) and a failure on B (one by one);
    // worker 2 the other way round. Each lane has failed before, so a success writes it.
    const { a, b, w1, w2 } = await mixedBatches();
    expect(w1).toHaveLength(3);
    expect(w2).toHaveLength(3);
    // Both hold their first lane (marked up) long enough for the other to take its own.
    await pauseLaneUpdates('old.consecutive_failures > 0 and new.consecutive_failures = 0', 0.3);

    const outcome = (claims: ClaimedDelivery[], succeeding: string) =>
      claims.map((claim) => ({
        claim,
        attempt: claim.integrationId === succeeding ? succeeded() : retried(),
      }));
    const results = await Promise.allSettled([
      queue.completeMany(outcome(w1, a)),
      queue.completeMany(outcome(w2, b)),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
    const { rows } = await sql<{ status: string; n: string }>`
      select status, count(*) as n from attempts a join deliveries d on d.id = a.delivery_id
      group by status order by status`.execute(t.store.db);
    expect(rows.map((row) => [row.status, Number(row.n)])).toEqual([
      ['pending', 2],
      ['succeeded', 4],
    ]);
  });

  it('a completion and a cancel of one of its deliveries do not deadlock', async () => {
    const integration = await seedIntegration(t.store, owner);
    // b1 has a successor of its call parked behind it: cancelling b1 releases it (a lane write).
    const b0 = delivery(owner, integration, { orderingKey: 'call:0', sequence: 1 });
    const b1 = delivery(owner, integration, { orderingKey: 'call:1', sequence: 1 });
    const next = delivery(owner, integration, { orderingKey: 'call:1', sequence: 2 });
    await enqueue(t.store, queue, [b0, b1, next]);
    const claims = await queue.claim('w1', 10);
    expect(claims.map((claim) => claim.id).sort()).toEqual([b0.id, b1.id].sort());
    // The cancel holds b1's row a while after updating it.
    await pauseUpdates('deliveries', 'after', `new.status = 'cancelled'`, 0.5);

    const cancelling = queue.cancel(b1.id);
    await untilPaused(1);
    // The completion: b0 failed (its lane's failure streak is written), b1 succeeded.
    const completing = queue.completeMany(
      claims.map((claim) => ({
        claim,
        attempt: claim.id === b0.id ? retried() : succeeded(),
      })),
    );
    const results = await Promise.allSettled([cancelling, completing]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(results[0]).toEqual({ status: 'fulfilled', value: true });
    // b1 was cancelled first: its success came too late to apply, and its successor is due.
    const byId = new Map(claims.map((claim, i) => [claim.id, i]));
    const completed = (results[1] as PromiseFulfilledResult<{ applied: boolean }[]>).value;
    expect(completed[byId.get(b1.id)!]).toEqual({ applied: false });
    expect(completed[byId.get(b0.id)!]).toEqual({ applied: true });
    expect((await queue.claim('w2', 10)).map((claim) => claim.id)).toEqual([next.id]);
  });

  it('mixed batches whose retries lower the due marks do not deadlock either', async () => {
    const { a, b, w1, w2 } = await mixedBatches();
    // A retry sooner than the lease end lowers the lane's due mark (a lane write); each worker
    // holds the lane it lowered a while.
    const soon = clock.ms + 1_000;
    await pauseUpdates(
      'delivery_lanes',
      'after',
      `new.next_due_at = ${soon} and old.next_due_at <> new.next_due_at`,
      0.3,
    );
    const outcome = (claims: ClaimedDelivery[], succeeding: string) =>
      claims.map((claim) => ({
        claim,
        attempt:
          claim.integrationId === succeeding
            ? succeeded()
            : { ...retried(), decision: { kind: 'retry' as const, at: soon, reason: 'HTTP 503' } },
      }));
    const results = await Promise.allSettled([
      queue.completeMany(outcome(w1, a)),
      queue.completeMany(outcome(w2, b)),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
  });

  it('a retry while a claim leases a later delivery of its call waits for that claim', async () => {
    const integration = await seedIntegration(t.store, owner);
    const [first, second] = [1, 2].map((sequence) =>
      delivery(owner, integration, { orderingKey: 'call:1', sequence }),
    );
    await enqueue(t.store, queue, [first!, second!]);
    const [claim] = await queue.claim('w1', 10);
    await queue.complete(claim!, {
      ...succeeded(),
      decision: { kind: 'failed', reason: 'HTTP 400' },
      lastStatus: 400,
    });
    // The claim of `second` holds its lease uncommitted (and its lane locked) a while.
    await pauseUpdates(
      'deliveries',
      'after',
      'new.lease_owner is not null and old.lease_owner is null',
      0.5,
    );
    const claiming = queue.claim('w2', 10);
    await untilPaused(1);
    const retried = await queue.retryNow(first!.id);
    expect((await claiming).map((c) => c.id)).toEqual([second!.id]);
    expect(retried).toBe(true);
    // `second` is out: `first` waits for it.
    expect(await queue.claim('w3', 10)).toEqual([]);
  });
});
