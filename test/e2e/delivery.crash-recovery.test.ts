/**
 * kill -9 under load, restart, count: every event the service acknowledged (202) is delivered,
 * at least once. Duplicates (the at-least-once price of a crash) are counted and reported.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CRASH_TEST_ENV,
  cliWith,
  processScope,
  until,
  userWithKey,
  workerStarted,
} from '../helpers/process.js';
import { startServer, type TestServer } from '../transport/servers.js';

interface Env {
  [name: string]: string;
}

describe('crash recovery: kill -9 under load', () => {
  const scope = processScope('callhook-crash-');
  afterEach(() => scope.release());

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
    scope.onRelease(() => server.close());
    return { server, byKey, events };
  };

  const setUp = async (env: Env, origin: string) => {
    const key = await userWithKey(cliWith(env), 'dialer@example.com', 'dialer-password', [
      '--admin',
    ]);
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
    const env: Env = {
      CALLHOOK_DATA_DIR: scope.tempDir(),
      ...CRASH_TEST_ENV,
    };
    const api = await setUp(env, r.server.origin);
    const first = scope.start(['serve'], env);
    const url = await first.listening;
    await api.configure(url);
    const traffic = load(url, api.headers);
    await until(() => r.events.size > 300, 10_000);
    await first.stop('SIGKILL');
    await traffic.stop();
    expect(traffic.accepted.size).toBeGreaterThan(300);

    const second = scope.start(['serve'], env);
    await second.listening;
    await until(() => [...traffic.accepted].every((id) => r.events.has(id)), 30_000);
    const { missing } = report('SQLite', traffic.accepted, r);
    expect(missing).toEqual([]);
  }, 60_000);

  it('PostgreSQL, API and two workers: a worker killed mid-delivery loses nothing', async () => {
    const r = await receiver();
    const env: Env = {
      CALLHOOK_DATABASE_URL: await scope.postgresSchema(`t_crash_${process.pid}`),
      CALLHOOK_DATA_DIR: scope.tempDir(),
      CALLHOOK_SECRET_KEY: 'cd'.repeat(32),
      ...CRASH_TEST_ENV,
    };
    const api = await setUp(env, r.server.origin);
    const server = scope.start(['serve', '--api'], env);
    const url = await server.listening;
    await api.configure(url);
    const doomed = scope.start(['serve', '--worker'], env);
    const survivor = scope.start(['serve', '--worker'], env);
    await workerStarted(doomed);
    await workerStarted(survivor);

    const traffic = load(url, api.headers, 2000);
    await until(() => r.events.size > 300, 10_000);
    // Kill the worker that holds leases right now (either may; the doomed one surely has some).
    await doomed.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await traffic.stop();
    await until(() => [...traffic.accepted].every((id) => r.events.has(id)), 30_000);
    const { missing } = report('PostgreSQL', traffic.accepted, r);
    expect(missing).toEqual([]);
  }, 60_000);
});
