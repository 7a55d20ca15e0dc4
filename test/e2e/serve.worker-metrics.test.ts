/**
 * CALLHOOK_METRICS_PORT: a worker-only process (`serve --worker`) opens no API port, so without
 * it the deliveries it makes are counted where nothing can scrape them, and nothing can ask
 * whether it is alive and reaches its store (`/healthz`, `/readyz`, as the API's). The API
 * process's `/api/v1/activity` shows them (the activity per minute every process writes).
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cliWith, processScope, userWithKey } from '../helpers/process.js';
import { settle, startServer } from '../transport/servers.js';
import { TEST_DATABASE_URL } from '../helpers/store.js';

/**
 * A TCP relay to the test PostgreSQL server that can be frozen: while it is, bytes in either
 * direction wait (new connections too), so the database takes queries and never answers, as
 * one that hangs does.
 */
async function freezableRelay(target: { host: string; port: number }) {
  let frozen = false;
  let waiting: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const relay = (from: net.Socket, to: net.Socket) =>
    from.on('data', (chunk: Buffer) => {
      if (frozen) waiting.push(() => to.write(chunk));
      else to.write(chunk);
    });
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => void (frozen = true),
    thaw() {
      frozen = false;
      const queued = waiting;
      waiting = [];
      for (const write of queued) write();
    },
    async close() {
      await new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
      await settle();
    },
  };
}

describe('serve --worker with CALLHOOK_METRICS_PORT (the real processes)', () => {
  const scope = processScope('callhook-metrics-');
  afterEach(() => scope.release());
  const { start, tempDir } = scope;
  /** The value of one sample line (`name{labels} value`) of a Prometheus text scrape. */
  const sample = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('serves the worker’s delivery metrics, /healthz and /readyz on PostgreSQL, nothing else, and closes on SIGTERM', async () => {
    const received: string[] = [];
    const receiver = await startServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(body);
        res.writeHead(200).end('ok');
      });
    });
    scope.onRelease(() => receiver.close());
    const env = {
      CALLHOOK_DATABASE_URL: await scope.postgresSchema(`t_metrics_${process.pid}`),
      CALLHOOK_DATA_DIR: tempDir(),
      CALLHOOK_SECRET_KEY: 'ef'.repeat(32),
      CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
    };
    const key = await userWithKey(cliWith(env), 'ops@example.com', 'ops-password-1', [
      '--grant',
      'integration',
      'campaign',
      'event_ingest',
    ]);
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

    const api = start(['serve', '--api'], env);
    const apiUrl = await api.listening;
    const post = async (url: string, body: unknown, method = 'POST') => {
      const res = await fetch(`${apiUrl}${url}`, { method, headers, body: JSON.stringify(body) });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      return (await res.json()) as Record<string, unknown>;
    };
    const { id } = (await post('/api/v1/integrations', {
      name: 'CRM',
      type: 'http',
      config: {
        url: `${receiver.origin}/calls`,
        headers: 'Content-Type: application/json',
        body: '{"event": "{{event.id}}"}',
      },
    })) as { id: string };
    await post('/api/v1/campaigns', { id: 'spring', name: 'Spring', type: 'voice' });
    await post(
      '/api/v1/campaigns/spring/bindings',
      { bindings: [{ integrationId: id, on: ['call.ended'] }] },
      'PUT',
    );

    const worker = start(['serve', '--worker'], { ...env, CALLHOOK_METRICS_PORT: '0' });
    const metricsUrl = await worker.metricsListening;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsUrl).not.toBe(apiUrl);
    // A worker-only process still opens no API listener.
    expect(worker.logs.some((l) => l['msg'] === 'callhook listening')).toBe(false);

    await post('/api/v1/events', {
      events: [1, 2].map((n) => ({
        id: `ev-${n}`,
        type: 'call.ended',
        occurredAt: '2026-11-27T10:00:00Z',
        campaignId: 'spring',
        call: { id: `call-${n}`, status: 'answered' },
        contact: { phone: '+15551234567' },
      })),
    });
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(2);
    const series = `callhook_deliveries_total{integration="${id}",outcome="succeeded"}`;
    // The counter moves once the attempt's outcome is stored, just after the receiver answers.
    await expect
      .poll(async () => sample(await (await fetch(`${metricsUrl}/metrics`)).text(), series), {
        timeout: 5_000,
      })
      .toBe(2);
    const scrape = await fetch(`${metricsUrl}/metrics`);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await scrape.text();
    expect(sample(text, 'callhook_attempt_duration_seconds_count{type="http"}')).toBe(2);
    expect(sample(text, 'callhook_queue_depth')).toBe(0);
    // The API process made no delivery: its /metrics cannot tell the worker's.
    expect(sample(await (await fetch(`${apiUrl}/metrics`)).text(), series)).toBeUndefined();

    const health = await fetch(`${metricsUrl}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
    const ready = await fetch(`${metricsUrl}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);
    for (const [method, url] of [
      ['GET', '/api/v1/deliveries'],
      ['GET', '/'],
      ['POST', '/metrics'],
    ] as const) {
      const res = await fetch(`${metricsUrl}${url}`, { method, headers });
      expect([method, url, res.status]).toEqual([method, url, 404]);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'ROUTE_NOT_FOUND',
      );
    }

    // Prometheus keeps its connection open between scrapes; the stop does not wait on it.
    const agent = new http.Agent({ keepAlive: true });
    scope.onRelease(async () => agent.destroy());
    await new Promise<void>((resolve, reject) =>
      http
        .get(`${metricsUrl}/metrics`, { agent }, (res) => res.resume().on('end', resolve))
        .on('error', reject),
    );
    // Without the listener closed the process would never exit on its own.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((resolve) => {
      timer = setTimeout(resolve, 10_000, 'still running 10 s after SIGTERM');
    });
    const exit = await Promise.race([worker.stop('SIGTERM'), late]);
    clearTimeout(timer);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(worker.logs.some((l) => l['msg'] === 'stopped')).toBe(true);
    await expect(fetch(`${metricsUrl}/healthz`)).rejects.toThrow();

    // The API process shows the worker's deliveries in the activity per minute: the worker wrote
    // its counts when it stopped, the API its accepted events within 10 s.
    const activity = async () => {
      const res = await fetch(`${apiUrl}/api/v1/activity`, { headers });
      const { items } = (await res.json()) as { items: Record<string, number>[] };
      const sum = (field: string) => items.reduce((total, item) => total + item[field]!, 0);
      return { succeeded: sum('succeeded'), failed: sum('failed'), events: sum('events') };
    };
    await expect
      .poll(activity, { timeout: 15_000, interval: 500 })
      .toEqual({ succeeded: 2, failed: 0, events: 2 });
  }, 60_000);

  it('answers /readyz 503 while its store does not answer, as the API does, with UUID request ids', async () => {
    const pgUrl = new URL(TEST_DATABASE_URL);
    const relay = await freezableRelay({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
    scope.onRelease(() => relay.close());
    const url = new URL(await scope.postgresSchema(`t_ready_${process.pid}`));
    url.port = String(relay.port);
    const worker = start(['serve', '--worker'], {
      CALLHOOK_DATABASE_URL: url.toString(),
      CALLHOOK_DATA_DIR: tempDir(),
      CALLHOOK_SECRET_KEY: 'ef'.repeat(32),
      CALLHOOK_METRICS_PORT: '0',
    });
    const metricsUrl = await worker.metricsListening;
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    // The same request ids as the API's (a UUID), not Fastify's default `req-1`.
    expect((await fetch(`${metricsUrl}/nothing-here`)).status).toBe(404);
    // The child's log line may reach this process after the answer does.
    await expect
      .poll(() => worker.logs.some((l) => l['msg'] === 'incoming request'), { timeout: 5_000 })
      .toBe(true);
    const logged = worker.logs.find((l) => l['msg'] === 'incoming request');
    expect(String(logged?.['reqId']), 'request id').toMatch(uuid);
    const ready = await fetch(`${metricsUrl}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);

    relay.freeze();
    const started = performance.now();
    const frozen = await fetch(`${metricsUrl}/readyz`);
    expect([frozen.status, await frozen.json()]).toEqual([
      503,
      { error: { code: 'NOT_READY', message: 'The store is not reachable' } },
    ]);
    // Within the 2 s readiness deadline, not after a hang.
    expect(performance.now() - started).toBeLessThan(3_500);
    // The process is alive all the same.
    expect((await fetch(`${metricsUrl}/healthz`)).status).toBe(200);
    await expect
      .poll(() => worker.logs.some((l) => l['msg'] === 'store not reachable'), { timeout: 5_000 })
      .toBe(true);
    const warning = worker.logs.find((l) => l['msg'] === 'store not reachable');
    expect(warning?.['level']).toBe(40);
    expect(String(warning?.['reqId'])).toMatch(uuid);

    relay.thaw();
    await expect
      .poll(async () => (await fetch(`${metricsUrl}/readyz`)).status, { timeout: 10_000 })
      .toBe(200);
    expect(await worker.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await expect(fetch(`${metricsUrl}/readyz`)).rejects.toThrow();
  }, 60_000);

  it('says in one line that the metrics port is taken, as for the API port', async () => {
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    scope.onRelease(() => new Promise((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as AddressInfo).port;
    const p = start(['serve', '--worker'], {
      CALLHOOK_DATA_DIR: tempDir(),
      CALLHOOK_METRICS_PORT: String(port),
    });
    expect((await p.exited).code).toBe(2);
    expect(p.stderr.join('\n')).toMatch(
      new RegExp(
        `^callhook: cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use \\(CALLHOOK_HOST, CALLHOOK_METRICS_PORT\\)$`,
        'm',
      ),
    );
    expect(p.stderr.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('serves metrics on CALLHOOK_METRICS_PORT beside the API too, and refuses the API’s own port', async () => {
    const dataDir = tempDir();
    const both = start(['serve'], { CALLHOOK_DATA_DIR: dataDir, CALLHOOK_METRICS_PORT: '0' });
    const [apiUrl, metricsUrl] = await Promise.all([both.listening, both.metricsListening]);
    expect(metricsUrl).not.toBe(apiUrl);
    const scrape = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(scrape).toContain('# TYPE callhook_deliveries_total counter');
    expect((await fetch(`${apiUrl}/metrics`)).status).toBe(200);
    expect((await fetch(`${metricsUrl}/api/openapi.json`)).status).toBe(404);
    expect(await both.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const same = start(['serve', '--api'], {
      CALLHOOK_DATA_DIR: dataDir,
      CALLHOOK_PORT: '18080',
      CALLHOOK_METRICS_PORT: '18080',
    });
    expect((await same.exited).code).toBe(2);
    expect(same.stderr).toEqual([
      'callhook: CALLHOOK_METRICS_PORT and CALLHOOK_PORT are both 18080, where this process serves the API: give CALLHOOK_METRICS_PORT another port or unset it',
    ]);
  });
});
