/**
 * A retry or cancel that finds its delivery moved by another action between the route's read and
 * its own write (another retry, another cancel) answers 409 with the state the delivery is in
 * now. Here the other action is the real one, held open in a transaction of the test until the
 * route's write waits for it. On PostgreSQL the route reads the delivery before that transaction
 * commits and writes after; SQLite runs one transaction at a time on its one connection, so there
 * the route reads after the commit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { inWriteTransaction } from '../../src/store/write-transaction.js';
import { isPostgres } from '../../src/store/bulk-insert.js';
import { cancelDelivery, requeueFailed } from '../../src/store/delivery-actions.js';
import type { Database } from '../../src/store/schema.js';

describe.each(DIALECTS)('retry and cancel meeting another action on %s', (backend) => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  /**
   * Runs `action` in a write transaction kept open until `route` (a request) waits for it
   * (PostgreSQL: a session blocked by this one; SQLite: a moment), then commits; answers the
   * request's response.
   */
  const meet = async (
    action: (trx: Kysely<Database>) => Promise<unknown>,
    route: () => Promise<{ statusCode: number; json: () => { error: { message: string } } }>,
  ) => {
    const db = p!.t.store.store.db;
    let started!: (pid: number) => void;
    const begun = new Promise<number>((resolve) => (started = resolve));
    let commit!: () => void;
    const held = new Promise<void>((resolve) => (commit = resolve));
    const other = inWriteTransaction(p!.t.store.store, async (trx) => {
      await action(trx);
      const pid = isPostgres(trx)
        ? (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!.pid
        : 0;
      started(pid);
      await held;
    });
    const pid = await begun;
    const answer = route();
    if (backend === 'postgres') {
      for (let tries = 0; ; tries += 1) {
        const { rows } = await sql<{ n: string }>`
          select count(*) as n from pg_stat_activity
          where ${pid} = any(pg_blocking_pids(pid))`.execute(db);
        if (Number(rows[0]!.n) > 0) break;
        if (tries > 200) throw new Error('the route never came to wait for the other action');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } else {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    commit();
    await other;
    return answer;
  };

  it('answers a retry that another retry beat with the delivery pending', async () => {
    p = await createPipeline(backend, { integrationOptions: { retry: { maxAttempts: 1 } } });
    p.respond = (res) => res.writeHead(404).end();
    await p.post('/api/v1/events', callEvent('ev-1'));
    await p.worker().runOnce();
    const [delivery] = (await p.get('/api/v1/deliveries?status=failed')).json().items;

    const answer = await meet(
      (trx) => requeueFailed(trx, { id: delivery.id }, undefined, Date.now()),
      () => p!.post(`/api/v1/deliveries/${delivery.id}/retry`, {}),
    );
    expect(answer.statusCode).toBe(409);
    expect(answer.json().error.message).toBe(
      `delivery ${delivery.id} is pending; only a failed delivery can be retried`,
    );
  });

  it('answers a cancel that another cancel beat with the delivery cancelled', async () => {
    p = await createPipeline(backend);
    await p.post('/api/v1/events', callEvent('ev-1'));
    const [delivery] = (await p.get('/api/v1/deliveries?status=pending')).json().items;

    const answer = await meet(
      (trx) => cancelDelivery(trx, delivery.id, undefined, Date.now()),
      () => p!.post(`/api/v1/deliveries/${delivery.id}/cancel`, {}),
    );
    expect(answer.statusCode).toBe(409);
    expect(answer.json().error.message).toBe(
      `Delivery ${delivery.id} is cancelled; only a pending delivery can be cancelled`,
    );
  });
});
