/**
 * kill -9 under load, restart, count: every event the service acknowledged (202) is delivered,
 * at least once. Duplicates (the at-least-once price of a crash) are counted and reported.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startProcess, type ServiceProcess } from '../helpers/process.js';
import { dropSchema, postgresUrlWithSchema, TEST_DATABASE_URL } from '../helpers/store.js';
import { startServer, type TestServer } from '../transport/servers.js';
import pg from 'pg';

const run = promisify(execFile);
const BIN = path.resolve('dist/cli/index.js');

interface Env {
  [name: string]: string;
}

describe('crash recovery: kill -9 under load', () => {
  const running: ServiceProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Receiver counting deliveries per Idempotency-Key and per event id. */
  const receiver = async () => {
    const byKey = new Map<string, number>();
    const events = new Set<string>();
    const server: TestServer = await startServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const key = String(req.headers['idempotency-key']);
        byKey.set(key, (byKey.get(key) ?? 0) + 1);
        events.add((JSON.parse(body) as { event: string }).event);
        res.writeHead(200).end('ok');
      });
    });
    cleanups.push(() => server.close());
    return { server, byKey, events };
  };

  const setUp = async (env: Env, origin: string) => {
    const cli = (...args: string[]) =>
      run(process.execPath, [BIN, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env } });
    await cli(
      'users',
      'create',
      '--email',
      'dialer@example.com',
      '--password',
      'dialer-password',
      '--admin',
    );
    const key = (await cli('keys', 'create', '--email', 'dialer@example.com')).stdout.trim();
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    return {
      headers,
      async configure(url: string) {
        const integration = await fetch(`${url}/api/v1/integrations`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            name: 'CRM',
            type: 'http',
            config: {
              url: `${origin}/calls`,
              headers: 'Content-Type: application/json',
              body: '{"event": "{{event.id}}"}',
            },
            options: { timeoutMs: 1000, maxConcurrency: 32 },
          }),
        });
        expect(integration.status).toBe(201);
        const { id } = (await integration.json()) as { id: string };
        await fetch(`${url}/api/v1/campaigns`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ id: 'spring', name: 'Spring', type: 'voice' }),
        });
        const bound = await fetch(`${url}/api/v1/campaigns/spring/bindings`, {
          method: 'PUT',
          headers,
          body: JSON.stringify({ bindings: [{ integrationId: id, on: ['call.ended'] }] }),
        });
        expect(bound.status).toBe(200);
      },
    };
  };

  /** Posts batches until `stop()` or `max` events; answers the ids acknowledged with 202. */
  const load = (url: string, headers: Record<string, string>, max = 4000) => {
    const accepted = new Set<string>();
    let next = 0;
    let stopped = false;
    const poster = async () => {
      while (!stopped && next < max) {
        const events = Array.from({ length: 50 }, () => {
          next += 1;
          return {
            id: `ev-${next}`,
            type: 'call.ended',
            occurredAt: new Date().toISOString(),
            campaignId: 'spring',
            call: { id: `call-${next}`, status: 'answered' },
            contact: { phone: '+15551234567' },
          };
        });
        try {
          const res = await fetch(`${url}/api/v1/events`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ events }),
          });
          if (res.status !== 202) continue;
          for (const id of ((await res.json()) as { accepted: string[] }).accepted)
            accepted.add(id);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    const posters = Array.from({ length: 4 }, poster);
    return {
      accepted,
      async stop() {
        stopped = true;
        await Promise.all(posters);
      },
    };
  };

  const waitFor = async (condition: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!condition() && Date.now() < end)
      await new Promise((resolve) => setTimeout(resolve, 50));
  };

  const report = (
    name: string,
    accepted: Set<string>,
    r: { byKey: Map<string, number>; events: Set<string> },
  ) => {
    const missing = [...accepted].filter((id) => !r.events.has(id));
    const duplicates = [...r.byKey.values()].filter((n) => n > 1).length;
    process.stdout.write(
      `crash test (${name}): ${accepted.size} events acknowledged, ${r.events.size} delivered, ` +
        `${missing.length} missing, ${duplicates} delivered more than once\n`,
    );
    return { missing, duplicates };
  };

  it('SQLite, one process: every acknowledged event is delivered after a restart', async () => {
    const r = await receiver();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-crash-'));
    cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    const env: Env = {
      CALLHOOK_DATA_DIR: dataDir,
      CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
      CALLHOOK_LEASE_SECONDS: '2',
      CALLHOOK_LOG_LEVEL: 'info',
    };
    const api = await setUp(env, r.server.origin);
    const first = startProcess(['serve'], env);
    running.push(first);
    const url = await first.listening;
    await api.configure(url);
    const traffic = load(url, api.headers);
    await waitFor(() => r.events.size > 300, 10_000);
    first.child.kill('SIGKILL');
    await first.exited;
    await traffic.stop();
    expect(traffic.accepted.size).toBeGreaterThan(300);

    const second = startProcess(['serve'], env);
    running.push(second);
    await second.listening;
    await waitFor(() => [...traffic.accepted].every((id) => r.events.has(id)), 30_000);
    const { missing } = report('SQLite', traffic.accepted, r);
    expect(missing).toEqual([]);
  }, 60_000);

  it('PostgreSQL, API and two workers: a worker killed mid-delivery loses nothing', async () => {
    const r = await receiver();
    const schema = `t_crash_${process.pid}`;
    await dropSchema(schema);
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    cleanups.push(() => dropSchema(schema));
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-crash-'));
    cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    const env: Env = {
      CALLHOOK_DATA_DIR: dataDir,
      CALLHOOK_DATABASE_URL: postgresUrlWithSchema(schema),
      CALLHOOK_SECRET_KEY: 'cd'.repeat(32),
      CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
      CALLHOOK_LEASE_SECONDS: '2',
      CALLHOOK_LOG_LEVEL: 'info',
    };
    const api = await setUp(env, r.server.origin);
    const server = startProcess(['serve', '--api'], env);
    running.push(server);
    const url = await server.listening;
    await api.configure(url);
    const workerStarted = (p: ServiceProcess) =>
      waitFor(() => p.logs.some((l) => l['msg'] === 'delivery worker started'), 10_000);
    const doomed = startProcess(['serve', '--worker'], env);
    const survivor = startProcess(['serve', '--worker'], env);
    running.push(doomed, survivor);
    await workerStarted(doomed);
    await workerStarted(survivor);

    const traffic = load(url, api.headers, 2000);
    await waitFor(() => r.events.size > 300, 10_000);
    // Kill the worker that holds leases right now (either may; the doomed one surely has some).
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    await new Promise((resolve) => setTimeout(resolve, 500));
    await traffic.stop();
    await waitFor(() => [...traffic.accepted].every((id) => r.events.has(id)), 30_000);
    const { missing } = report('PostgreSQL', traffic.accepted, r);
    expect(missing).toEqual([]);
  }, 60_000);
});
