/**
 * End to end: call events ingested over HTTP → stored with their deliveries → delivered to a
 * local keep-alive receiver → attempts recorded, on SQLite (one process) and on PostgreSQL (one
 * API process, two worker processes), next to a bare undici client against the same receiver in
 * the same run. Also batch ingest alone (API without workers), events stored per second.
 *
 * Targets: SQLite ≥ 50 % of the bare client's rate, PostgreSQL ≥ 35 %, ingest ≥ 20,000 events/s.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import type { BenchResult } from './run.js';
import { median } from './stats.js';
import { startReceiver, type Receiver } from './receiver.js';
import { cpuMeter, cpuMeterOfNamed } from './proc-cpu.js';
import {
  ApiClient,
  BENCH_CONCURRENCY,
  benchEvents,
  startCallhook,
  type CallhookProcess,
} from './callhook-process.js';

const DELIVERIES = Number(process.env['BENCH_DELIVERIES'] ?? 20_000);
const INGEST_EVENTS = Number(process.env['BENCH_INGEST_EVENTS'] ?? 50_000);
/** Rounds of `INGEST_EVENTS` events into one running service; medians reported. */
const INGEST_ROUNDS = Number(process.env['BENCH_INGEST_ROUNDS'] ?? 5);
const BATCH = 1000;
/** Which parts to run (comma-separated: sqlite, postgres, ingest-sqlite, ingest-postgres); all by default. */
const PARTS = new Set(
  (process.env['BENCH_PIPELINE_PARTS'] ?? 'sqlite,postgres,ingest-sqlite,ingest-postgres').split(
    ',',
  ),
);
const PG_URL =
  process.env['CALLHOOK_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A measured run: its rate, and the CPU µs per request or delivery of each party. */
interface Run {
  rate: number;
  /** The bare client (this process) or every Callhook process. */
  clientCpuUs: number;
  receiverCpuUs: number;
  /** Every `postgres` process of the machine, the server's own (PostgreSQL runs only). */
  postgresCpuUs?: number;
}

/** Measures `work` (which handles `count` requests): its rate, and CPU per request of `parties`. */
async function metered(
  count: number,
  parties: { callhook?: number[]; receiver: Receiver; postgres?: boolean },
  work: () => Promise<void>,
): Promise<Run> {
  const self = process.cpuUsage();
  const callhook = parties.callhook && cpuMeter(parties.callhook);
  const receiver = cpuMeter([parties.receiver.child.pid!]);
  const postgres = parties.postgres ? cpuMeterOfNamed('postgres') : undefined;
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(self);
  return {
    rate: count / seconds,
    clientCpuUs: (callhook ? callhook() : used.user + used.system) / count,
    receiverCpuUs: receiver() / count,
    ...(postgres ? { postgresCpuUs: postgres() / count } : {}),
  };
}

async function bareRate(receiver: Receiver, count: number): Promise<Run> {
  const pool = new Pool(receiver.origin, { connections: 64 });
  const body = JSON.stringify({
    status: 'answered',
    phone: '+15551234567',
    name: 'Ana',
    duration: 42,
    campaign: 'Bench',
  });
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      const res = await pool.request({
        method: 'POST',
        path: '/calls?phone=%2B15551234567',
        headers: { 'content-type': 'application/json', authorization: 'Bearer 0123456789abcdef' },
        body,
      });
      await res.body.arrayBuffer();
    }
  };
  const run = await metered(count, { receiver }, async () => {
    await Promise.all(Array.from({ length: 64 }, worker));
  });
  await pool.close();
  return run;
}

async function postBatches(
  api: ApiClient,
  campaignId: string,
  total: number,
  offset: number,
  parallel = 2,
): Promise<void> {
  let next = 0;
  const poster = async () => {
    while (next < total) {
      const from = next;
      next += BATCH;
      const res = await api.call<{ accepted: string[] }>('POST', '/api/v1/events', {
        events: benchEvents(campaignId, offset + from, Math.min(BATCH, total - from)),
      });
      if (res.status !== 202)
        throw new Error(`ingest answered ${res.status}: ${JSON.stringify(res.json)}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, poster));
}

async function queueDepth(api: ApiClient): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const match = /^callhook_queue_depth (\d+)/m.exec(text);
  return match === null ? Number.NaN : Number(match[1]);
}

/** Events in, until every delivery is recorded; deliveries per second over the whole span. */
async function endToEnd(
  api: ApiClient,
  parties: Parameters<typeof metered>[1],
  count: number,
): Promise<Run> {
  const campaignId = await api.setUpIntegration(parties.receiver.origin);
  return metered(count, parties, async () => {
    await postBatches(api, campaignId, count, 0);
    for (;;) {
      if ((await queueDepth(api)) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
}

/**
 * Batch ingest alone: events (each with one delivery) stored per second, and CPU per event; the
 * medians of `INGEST_ROUNDS` rounds, each round's rate kept.
 */
interface IngestRun {
  rate: number;
  rounds: number[];
  /** Every Callhook process. */
  callhookCpuUs: number;
  /** This process: building and posting the batches. */
  senderCpuUs: number;
  /** Every `postgres` process of the machine (PostgreSQL runs only). */
  postgresCpuUs?: number;
}

async function ingestRate(
  api: ApiClient,
  receiverOrigin: string,
  count: number,
  pids: number[],
  postgres: boolean,
): Promise<IngestRun> {
  const campaignId = await api.setUpIntegration(receiverOrigin);
  await postBatches(api, campaignId, 2 * BATCH, 10_000_000); // warm-up
  const rounds: { rate: number; callhook: number; sender: number; server?: number }[] = [];
  for (let round = 0; round < INGEST_ROUNDS; round += 1) {
    const self = process.cpuUsage();
    const callhook = cpuMeter(pids);
    const server = postgres ? cpuMeterOfNamed('postgres') : undefined;
    const started = performance.now();
    await postBatches(api, campaignId, count, round * count, 4);
    const seconds = (performance.now() - started) / 1000;
    const sender = process.cpuUsage(self);
    rounds.push({
      rate: count / seconds,
      callhook: callhook() / count,
      sender: (sender.user + sender.system) / count,
      ...(server ? { server: server() / count } : {}),
    });
  }
  return {
    rate: median(rounds.map((r) => r.rate)),
    rounds: rounds.map((r) => r.rate),
    callhookCpuUs: median(rounds.map((r) => r.callhook)),
    senderCpuUs: median(rounds.map((r) => r.sender)),
    ...(postgres ? { postgresCpuUs: median(rounds.map((r) => r.server ?? 0)) } : {}),
  };
}

async function withSchema<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const schema = `bench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  try {
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return await fn(url.toString());
  } finally {
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  }
}

/** Waits for `api` and `others`, signs in to `api`, measures, and stops them all. */
async function run<T>(
  api: CallhookProcess,
  others: CallhookProcess[],
  measure: (client: ApiClient, pids: number[]) => Promise<T>,
): Promise<T> {
  const all = [api, ...others];
  try {
    await Promise.all(all.map((p) => p.ready));
    const client = new ApiClient(await api.ready);
    await client.signIn();
    try {
      return await measure(
        client,
        all.map((p) => p.child.pid!),
      );
    } finally {
      await client.close();
    }
  } finally {
    await Promise.all(all.map((p) => p.stop()));
  }
}

export default async function pipelineBench(): Promise<BenchResult> {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  const receiver = await startReceiver();
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-bench-'));
    dirs.push(dir);
    return dir;
  };
  const bare: Run[] = [];
  const ingests: Record<string, IngestRun> = {};
  const runs: Record<string, Run> = {};
  try {
    await bareRate(receiver, 5_000); // warm-up
    bare.push(await bareRate(receiver, DELIVERIES));

    const e2e = (postgres: boolean) => (client: ApiClient, pids: number[]) =>
      endToEnd(client, { callhook: pids, receiver, postgres }, DELIVERIES);
    const ingest = (postgres: boolean) => (client: ApiClient, pids: number[]) =>
      ingestRate(client, receiver.origin, INGEST_EVENTS, pids, postgres);
    if (PARTS.has('sqlite'))
      runs['sqlite'] = await run(
        startCallhook([], { CALLHOOK_DATA_DIR: dataDir() }),
        [],
        e2e(false),
      );
    bare.push(await bareRate(receiver, DELIVERIES));

    if (PARTS.has('postgres'))
      runs['postgres'] = await withSchema(async (url) => {
        const env = { CALLHOOK_DATA_DIR: dataDir(), CALLHOOK_DATABASE_URL: url };
        const api = startCallhook(['--api'], env);
        await api.ready; // migrations done before the workers start
        const workers = [1, 2].map(() =>
          startCallhook(['--worker'], { ...env, CALLHOOK_DATA_DIR: dataDir() }),
        );
        return run(api, workers, e2e(true));
      });
    bare.push(await bareRate(receiver, DELIVERIES));

    if (PARTS.has('ingest-sqlite'))
      ingests['sqlite'] = await run(
        startCallhook(['--api'], { CALLHOOK_DATA_DIR: dataDir() }),
        [],
        ingest(false),
      );
    if (PARTS.has('ingest-postgres'))
      ingests['postgres'] = await withSchema((url) =>
        run(
          startCallhook(['--api'], { CALLHOOK_DATA_DIR: dataDir(), CALLHOOK_DATABASE_URL: url }),
          [],
          ingest(true),
        ),
      );
  } finally {
    receiver.stop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }

  const bareMedian = median(bare.map((b) => b.rate));
  const bareCpu = median(bare.map((b) => b.clientCpuUs));
  const bareReceiverCpu = median(bare.map((b) => b.receiverCpuUs));
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const ratio = (n: number) => (n / bareMedian).toFixed(2);
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const sqlite = runs['sqlite']?.rate ?? Number.NaN;
  const postgres = runs['postgres']?.rate ?? Number.NaN;
  const us = (n: number | undefined) => (n === undefined ? '' : `${Math.round(n)} µs`);
  const cpuCells = (r: Run | undefined) =>
    `${us(r?.clientCpuUs)} | ${us(r?.postgresCpuUs)} | ${us(r?.receiverCpuUs)}`;
  /** What the cores leave for Callhook (and PostgreSQL) per delivery at the target rate. */
  const budgetLine = (name: string, target: number, r: Run | undefined) => {
    if (r === undefined) return '';
    const rate = target * bareMedian;
    const budget = (os.cpus().length * 1e6) / rate - r.receiverCpuUs;
    const used = r.clientCpuUs + (r.postgresCpuUs ?? 0);
    return `At ${target} × the bare rate (${fmt(rate)}/s), with the receiver's CPU as measured, the cores leave at most ${us(budget)} per delivery for ${name === 'SQLite' ? 'Callhook' : 'Callhook and the PostgreSQL server'}, had nothing else a use for them; measured: ${us(used)} (${(used / budget).toFixed(1)} ×).`;
  };
  const ingestRow = (name: string, r: IngestRun | undefined) =>
    `| ${name} | ${fmt(r?.rate ?? Number.NaN)} | ≥ 20,000: ${verdict((r?.rate ?? 0) >= 20_000)} | ${us(r?.callhookCpuUs)} | ${us(r?.postgresCpuUs)} | ${us(r?.senderCpuUs)} | ${(r?.rounds ?? []).map(fmt).join(', ')} |`;
  const markdown = `
${fmt(DELIVERIES)} call events posted in batches of ${BATCH} (2 clients) to a running \`callhook serve\`,
each bound to one HTTP integration (URL, 5-token JSON body, 2 headers) that posts to a local
keep-alive receiver (node:http in a child process); timed from the first POST until
\`callhook_queue_depth\` (polled every 100 ms) reads 0 (every delivery sent and its attempt recorded).
Workers run with \`CALLHOOK_WORKER_CONCURRENCY=${BENCH_CONCURRENCY}\` and the integration with
\`maxConcurrency: ${BENCH_CONCURRENCY}\`; each process's HTTP client keeps at most 64 connections to the
receiver. The bare client
sends the same number of requests with undici (\`Pool\`, 64 connections) to the same receiver,
measured between the runs (${bare.map((b) => fmt(b.rate)).join(', ')} requests/s; median used).

| path | deliveries/s | × bare undici | target | CPU per delivery: client or Callhook | PostgreSQL server | receiver |
| --- | ---: | ---: | --- | ---: | ---: | ---: |
| bare undici | ${fmt(bareMedian)} | 1.00 | | ${us(bareCpu)} | | ${us(bareReceiverCpu)} |
| Callhook, SQLite, one process (API + worker) | ${fmt(sqlite)} | ${ratio(sqlite)} | ≥ 0.50: ${verdict(sqlite / bareMedian >= 0.5)} | ${cpuCells(runs['sqlite'])} |
| Callhook, PostgreSQL, 1 API + 2 worker processes | ${fmt(postgres)} | ${ratio(postgres)} | ≥ 0.35: ${verdict(postgres / bareMedian >= 0.35)} | ${cpuCells(runs['postgres'])} |

CPU per delivery is user + system time of every thread (Linux \`/proc\`) over the timed span,
divided by the deliveries: for Callhook, all its processes (ingest over HTTP, storing, claiming,
rendering, sending, recording); for the bare client, the benchmark process. The machine has
${os.cpus().length} cores for everything in the table: a rate of R deliveries/s needs R × (the
row's CPU) µs of core time per second, so the sum over a row, times its rate, nears
${os.cpus().length} × 10⁶ µs/s where the machine is saturated. ${budgetLine('SQLite', 0.5, runs['sqlite'])}
${budgetLine('PostgreSQL', 0.35, runs['postgres'])}

Batch ingest alone (\`serve --api\`, no worker; ${INGEST_ROUNDS} rounds of ${fmt(INGEST_EVENTS)} events in batches of
${BATCH}, 4 clients, into one running service, after a warm-up; each event stored with its delivery in one
transaction before the 202; medians of the rounds):

| store | events/s stored | target | CPU per event: Callhook | PostgreSQL server | sender | events/s per round |
| --- | ---: | --- | ---: | ---: | ---: | --- |
${ingestRow('SQLite', ingests['sqlite'])}
${ingestRow('PostgreSQL', ingests['postgres'])}

The sender (this benchmark process, building and posting the batches) shares the machine's
cores with Callhook and PostgreSQL.
`;
  return { title: 'Deliveries end to end, and batch ingest', markdown, partial: PARTS.size < 4 };
}
