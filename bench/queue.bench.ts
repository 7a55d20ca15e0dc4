/**
 * Claim latency of the delivery queue with 10 k and with 1 M pending deliveries (all due, spread
 * over 10 integrations, each with its own call ordering key), on SQLite and PostgreSQL, and the
 * RSS of this process with 1 M pending. The claim reads due lanes, then a few rows of each
 * through the partial index, so its cost should not grow with the backlog.
 *
 * Targets: claim latency at 1 M within noise of 10 k; RSS ≤ 300 MB with 1 M pending.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { uuidv7 } from 'uuidv7';
import { openStore, type Backend, type Store } from '../src/store/db.js';
import { migrate } from '../src/store/migrator.js';
import { inWriteTransaction } from '../src/store/write-transaction.js';
import { DeliveryQueue } from '../src/queue/delivery-queue.js';
import type { BenchResult } from './run.js';
import { median, percentile } from './stats.js';

const DATABASE_URL =
  process.env['CALLHOOK_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const INTEGRATIONS = 10;
const BATCH = 10;
const ROUNDS = 300;
const SMALL = 10_000;
const LARGE = 1_000_000;

interface Measure {
  claimMs: number[];
  completeMs: number[];
}

async function open(backend: Backend): Promise<{ store: Store; cleanup: () => Promise<void> }> {
  if (backend === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-bench-'));
    const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'callhook.db') });
    await migrate(store);
    return {
      store,
      cleanup: async () => {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const store = await openStore({ kind: 'postgres', url: DATABASE_URL }, { schema });
  await migrate(store);
  return {
    store,
    cleanup: async () => {
      await store.close();
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}

async function seed(store: Store): Promise<string[]> {
  const now = Date.now();
  const owner = uuidv7();
  await store.db
    .insertInto('users')
    .values({
      id: owner,
      email: `${owner}@bench.test`,
      name: 'bench',
      password_hash: null,
      admin: 0,
      disabled: 0,
      created_at: now,
      updated_at: now,
    })
    .execute();
  const ids: string[] = [];
  for (let i = 0; i < INTEGRATIONS; i += 1) {
    const id = uuidv7();
    ids.push(id);
    await store.db
      .insertInto('integrations')
      .values({
        id,
        owner_id: owner,
        name: `i${i}`,
        description: '',
        type: 'http',
        enabled: 1,
        version: 1,
        disabled_reason: null,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      })
      .execute();
    await store.db
      .insertInto('integration_versions')
      .values({
        integration_id: id,
        version: 1,
        config: '{}',
        options: JSON.stringify({ timeoutMs: 5000, maxConcurrency: 10_000 }),
        created_at: now,
      })
      .execute();
  }
  return ids;
}

/** Adds pending deliveries `from`…`to`-1 in one statement (generate_series / recursive CTE). */
async function bulkInsert(
  store: Store,
  integrations: string[],
  from: number,
  to: number,
): Promise<void> {
  const now = Date.now() - 60_000;
  const owner = (await store.db.selectFrom('users').select('id').executeTakeFirstOrThrow()).id;
  const list = integrations.map((id) => `'${id}'`).join(',');
  // Each row: its own call key, spread over the integrations, all due.
  const select = (n: string) => `select 'd-' || ${n}, '${owner}',
      (array[${list}])[(${n} % ${INTEGRATIONS}) + 1], 'event', 'call:' || ${n}, ${n},
      'pending', 0, ${now}, ${now}, ${now}`;
  const columns = `(id, owner_id, integration_id, kind, ordering_key, sequence, status, attempts,
      next_attempt_at, created_at, updated_at)`;
  if (store.backend === 'postgres') {
    await sql
      .raw(
        `insert into deliveries ${columns} ${select('n')} from generate_series(${from}, ${to - 1}) as n`,
      )
      .execute(store.db);
    await sql.raw('analyze deliveries').execute(store.db);
  } else {
    // SQLite has no arrays: pick the integration with a CASE.
    const cases = integrations.map((id, i) => `when ${i} then '${id}'`).join(' ');
    await inWriteTransaction(store, (trx) =>
      sql
        .raw(
          `with recursive s(n) as (select ${from} union all select n + 1 from s where n < ${to - 1})
        insert into deliveries ${columns}
        select 'd-' || n, '${owner}', case n % ${INTEGRATIONS} ${cases} end, 'event', 'call:' || n, n,
          'pending', 0, ${now}, ${now}, ${now} from s`,
        )
        .execute(trx),
    );
    await sql.raw('analyze').execute(store.db);
  }
  await store.db
    .insertInto('delivery_lanes')
    .values(integrations.map((id) => ({ integration_id: id, next_due_at: now, updated_at: now })))
    .onConflict((oc) => oc.column('integration_id').doUpdateSet({ next_due_at: now }))
    .execute();
}

async function measure(queue: DeliveryQueue): Promise<Measure> {
  const claimMs: number[] = [];
  const completeMs: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    let started = performance.now();
    const claimed = await queue.claim('bench', BATCH);
    claimMs.push(performance.now() - started);
    if (claimed.length !== BATCH) throw new Error(`claimed ${claimed.length}, expected ${BATCH}`);
    started = performance.now();
    for (const delivery of claimed) {
      await queue.complete(delivery, {
        decision: { kind: 'succeeded' },
        health: 'up',
        record: {
          integrationVersion: 1,
          startedAt: Date.now(),
          durationMs: 1,
          request: '{}',
          response: null,
          error: null,
        },
        lastStatus: 200,
        error: null,
      });
    }
    completeMs.push((performance.now() - started) / BATCH);
  }
  return { claimMs, completeMs };
}

async function run(backend: Backend) {
  const { store, cleanup } = await open(backend);
  try {
    const integrations = await seed(store);
    const queue = new DeliveryQueue(store);
    await bulkInsert(store, integrations, 0, SMALL);
    await measure(queue); // warm-up: caches, plans, lane limits
    const small = await measure(queue);
    const insertStarted = performance.now();
    await bulkInsert(store, integrations, SMALL, LARGE);
    const insertSeconds = (performance.now() - insertStarted) / 1000;
    await measure(queue);
    const large = await measure(queue);
    const rssMb = process.memoryUsage().rss / 2 ** 20;
    const plan = await queue.explainClaim(integrations[0]!);
    const index = /(?:Scan using|USING INDEX) (deliveries_(?:lane|claim))/.exec(plan)?.[1];
    const scansTable = /Seq Scan on deliveries|^SCAN (d|deliveries)\b/m.test(plan);
    return { small, large, rssMb, insertSeconds, index: scansTable ? undefined : index };
  } finally {
    await cleanup();
  }
}

export default async function bench(): Promise<BenchResult> {
  const rows: string[] = [];
  let worstRss = 0;
  for (const backend of ['sqlite', 'postgres'] as const) {
    const r = await run(backend);
    worstRss = Math.max(worstRss, r.rssMb);
    const ms = (v: number) => v.toFixed(2);
    rows.push(
      `| ${backend} | ${ms(median(r.small.claimMs))} | ${ms(percentile(r.small.claimMs, 95))} | ${ms(median(r.large.claimMs))} | ${ms(percentile(r.large.claimMs, 95))} | ${(median(r.large.claimMs) / median(r.small.claimMs)).toFixed(2)} | ${ms(median(r.large.completeMs))} | ${r.index === undefined ? '**table scan**' : `\`${r.index}\``} | ${r.insertSeconds.toFixed(1)} s | ${r.rssMb.toFixed(0)} MB |`,
    );
  }
  return {
    title: 'Delivery queue: claim latency vs backlog',
    markdown: `Claiming ${BATCH} due deliveries (one \`claim()\`: lanes, limits, lease statement, lane update, one
transaction), ${ROUNDS} rounds after a warm-up, with ${SMALL.toLocaleString('en')} and then
${LARGE.toLocaleString('en')} pending deliveries, all due, over ${INTEGRATIONS} integrations, each
delivery with its own call ordering key. Each claimed batch is completed (success, attempt row) before
the next claim; "complete" is per delivery. The 1 M backlog is inserted in one statement
(\`generate_series\` / recursive CTE) and analysed. RSS is this process's after the 1 M rounds.

| backend | claim p50 ms @10 k | p95 | claim p50 ms @1 M | p95 | 1 M / 10 k | complete p50 ms @1 M | partial index in the plan @1 M | 990 k insert | RSS |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Targets: claim latency at 1 M the same as at 10 k within noise (ratio ≈ 1); RSS ≤ 300 MB with 1 M
pending (worst here: ${worstRss.toFixed(0)} MB).`,
  };
}
