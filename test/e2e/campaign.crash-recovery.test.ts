/**
 * Integration campaigns across real `callhook serve` processes: kill -9 mid-run, restart, and the
 * run goes on where it was: every contact is sent, none is lost, and none more than once beyond
 * the requests that were out when the process died (at least once). On PostgreSQL, two worker
 * processes share a campaign's rate, and one of them dying loses nothing either.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CRASH_TEST_ENV,
  cliWith,
  processScope,
  userWithKey,
  waitFor,
  workerStarted,
} from '../helpers/process.js';
import { startServer } from '../transport/servers.js';

type Env = Record<string, string>;

describe('integration campaigns survive kill -9', () => {
  const scope = processScope('callhook-campaign-crash-');
  afterEach(() => scope.release());

  /**
   * A receiver recording each contact's requests and when they came. It answers after 100 ms, so
   * a kill finds requests out (sent again after their lease: at least once).
   */
  const receiver = async () => {
    const requests: { contact: string; key: string; at: number }[] = [];
    const server = await startServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        requests.push({
          contact: (JSON.parse(body) as { contact: string }).contact,
          key: String(req.headers['idempotency-key']),
          at: Date.now(),
        });
        setTimeout(() => res.writeHead(200).end('ok'), 100);
      });
    });
    scope.onRelease(() => server.close());
    return { origin: server.origin, requests };
  };

  type Call = (
    method: string,
    route: string,
    body?: unknown,
  ) => Promise<{ status: number; body: Record<string, unknown> }>;

  /** An admin's API key (made with the CLI); `api(url)` calls the service at `url` with it. */
  const adminKey = async (env: Env) => {
    const key = await userWithKey(cliWith(env), 'ops@example.com', 'ops-password-1', ['--admin']);
    return (url: string): Call =>
      async (method, route, body) => {
        const res = await fetch(`${url}/api/v1${route}`, {
          method,
          headers: {
            authorization: `Bearer ${key}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
  };

  /** An integration to `origin`, a list of `count` contacts, campaign `spring` at `rate`. */
  const setUp = async (call: Call, origin: string, count: number, rate: number) => {
    const integration = await call('POST', '/integrations', {
      name: 'CRM',
      type: 'http',
      config: {
        url: `${origin}/contacts`,
        headers: 'Content-Type: application/json',
        body: '{"contact": "{{contact.id}}"}',
      },
      options: { timeoutMs: 1000 },
    });
    expect(integration.status).toBe(201);
    const list = await call('POST', '/contact-lists', { name: 'Leads' });
    const contacts = Array.from({ length: count }, (_, i) => ({
      id: `k-${i}`,
      phone: `+1555${1000000 + i}`,
    }));
    expect(
      (await call('POST', `/contact-lists/${String(list.body['id'])}/contacts`, { contacts }))
        .status,
    ).toBe(201);
    const campaign = await call('POST', '/campaigns', {
      id: 'spring',
      name: 'Spring',
      type: 'integration',
      contactListId: list.body['id'],
      integrationId: integration.body['id'],
      ratePerSecond: rate,
    });
    expect(campaign.status).toBe(201);
  };

  /**
   * Every contact sent; how many were sent more than once. A contact sent again is the same
   * delivery (its Idempotency-Key) sent again: a contact never gets a second delivery.
   */
  const tally = (name: string, requests: { contact: string; key: string }[], count: number) => {
    const times = new Map<string, number>();
    const keys = new Map<string, Set<string>>();
    for (const r of requests) {
      times.set(r.contact, (times.get(r.contact) ?? 0) + 1);
      keys.set(r.contact, (keys.get(r.contact) ?? new Set()).add(r.key));
    }
    expect([...keys.entries()].filter(([, of]) => of.size > 1)).toEqual([]);
    const missing = Array.from({ length: count }, (_, i) => `k-${i}`).filter(
      (id) => !times.has(id),
    );
    const twice = [...times.values()].filter((n) => n > 1).length;
    process.stdout.write(
      `campaign crash test (${name}): ${count} contacts, ${requests.length} requests, ${missing.length} missing, ${twice} sent more than once\n`,
    );
    return { missing, twice };
  };

  it('SQLite, one process: a restarted service finishes the run where it was', async () => {
    const r = await receiver();
    const env: Env = {
      CALLHOOK_DATA_DIR: scope.tempDir(),
      ...CRASH_TEST_ENV,
    };
    const api = await adminKey(env);
    const first = scope.start(['serve'], env);
    const call = api(await first.listening);
    await setUp(call, r.origin, 300, 100);
    expect((await call('POST', '/campaigns/spring/start')).status).toBe(200);
    await waitFor(() => r.requests.length >= 100, 10_000, '100 requests');
    await first.stop('SIGKILL');
    const beforeRestart = r.requests.length;

    const second = scope.start(['serve'], env);
    const again = api(await second.listening);
    await waitFor(
      async () => (await again('GET', '/campaigns/spring')).body['state'] === 'completed',
      20_000,
      'the campaign to complete',
    );
    const done = await again('GET', '/campaigns/spring');
    expect(done.body['progress']).toEqual({
      total: 300,
      pending: 0,
      succeeded: 300,
      failed: 0,
      cancelled: 0,
    });
    const { missing, twice } = tally('SQLite', r.requests, 300);
    expect(missing).toEqual([]);
    // Only what was out when the process died may go again (at most its concurrency, 16).
    expect(twice).toBeLessThanOrEqual(16);
    // It went on where it was rather than from the start.
    expect(r.requests.length - beforeRestart).toBeLessThanOrEqual(300 - beforeRestart + 16);
  }, 60_000);

  it('PostgreSQL, API and two workers: the rate holds across both, and one killed loses nothing', async () => {
    const r = await receiver();
    const env: Env = {
      CALLHOOK_DATABASE_URL: await scope.postgresSchema(`t_campaign_crash_${process.pid}`),
      CALLHOOK_DATA_DIR: scope.tempDir(),
      CALLHOOK_SECRET_KEY: 'ab'.repeat(32),
      ...CRASH_TEST_ENV,
    };
    const api = await adminKey(env);
    const server = scope.start(['serve', '--api'], env);
    const call = api(await server.listening);
    await setUp(call, r.origin, 240, 30);
    const doomed = scope.start(['serve', '--worker'], env);
    const survivor = scope.start(['serve', '--worker'], env);
    await Promise.all([workerStarted(doomed), workerStarted(survivor)]);

    expect((await call('POST', '/campaigns/spring/start')).status).toBe(200);
    await waitFor(() => r.requests.length >= 1, 10_000, 'the first request');
    const from = r.requests[0]!.at;
    await waitFor(() => Date.now() >= from + 3_000, 5_000, '3 s');
    const inThree = r.requests.filter((q) => q.at < from + 3_000).length;
    // 30 a second, pumped by two processes taking turns on the campaign row.
    expect(inThree).toBeGreaterThanOrEqual(80);
    expect(inThree).toBeLessThanOrEqual(96);
    const progress = (await call('GET', '/campaigns/spring')).body['progress'] as Record<
      string,
      number
    >;
    expect(
      progress['pending']! + progress['succeeded']! + progress['failed']! + progress['cancelled']!,
    ).toBe(240);

    await doomed.stop('SIGKILL');
    await waitFor(
      async () => (await call('GET', '/campaigns/spring')).body['state'] === 'completed',
      30_000,
      'the campaign to complete',
    );
    expect((await call('GET', '/campaigns/spring')).body['progress']).toEqual({
      total: 240,
      pending: 0,
      succeeded: 240,
      failed: 0,
      cancelled: 0,
    });
    const { missing, twice } = tally('PostgreSQL', r.requests, 240);
    expect(missing).toEqual([]);
    expect(twice).toBeLessThanOrEqual(16);
  }, 90_000);
});
