/**
 * Stopping the service stops claiming at once: the API may let a slow request finish (a test send
 * waiting on its remote), but the worker does not go on claiming deliveries meanwhile; and that
 * request's keep-alive connection is closed with its answer, so it does not hold the stop.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService, type RunningService } from '../../src/main.js';
import { startServer, type TestServer } from '../transport/servers.js';

/** One request on a connection of its own (no keep-alive connection for the stop to wait on). */
function request(
  origin: string,
  method: string,
  route: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<{ headers: http.IncomingHttpHeaders; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${origin}${route}`,
      { method, agent: false, headers: { ...headers, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ headers: res.headers, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

let service: RunningService | undefined;
const servers: TestServer[] = [];
afterEach(async () => {
  await service?.close();
  service = undefined;
  for (const server of servers.splice(0)) await server.close();
});

it(
  'claims no retry while the API lets a slow test send finish, then stops',
  { timeout: 20_000 },
  async () => {
    let hits = 0;
    const failing = await startServer((_req, res) => {
      hits += 1;
      res.writeHead(503).end('busy');
    });
    const slow = await startServer((_req, res) => {
      setTimeout(() => res.writeHead(200).end('late'), 2_500);
    });
    servers.push(failing, slow);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-stop-'));
    const config = loadConfig({
      CALLHOOK_DATA_DIR: dir,
      CALLHOOK_PORT: '0',
      CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
      CALLHOOK_ADMIN_EMAIL: 'admin@example.com',
      CALLHOOK_ADMIN_PASSWORD: 'admin-password-1',
    });
    service = await startService(config, createLogger('silent'));
    const url = service.url!;
    const login = await request(
      url,
      'POST',
      '/api/v1/auth/login',
      {},
      {
        email: 'admin@example.com',
        password: 'admin-password-1',
      },
    );
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const api = async (method: string, route: string, body: unknown) =>
      (await request(url, method, `/api/v1${route}`, { cookie, origin: url }, body)).json as {
        id: string;
      };
    const integration = (origin: string) =>
      api('POST', '/integrations', {
        name: origin,
        type: 'http',
        config: { url: `${origin}/x`, method: 'POST', body: 'x' },
        options: { retry: { maxAttempts: 5, scheduleSeconds: [1] } },
      });
    const failingId = (await integration(failing.origin)).id;
    const slowId = (await integration(slow.origin)).id;
    await api('POST', '/campaigns', { id: 'spring', name: 'Spring', type: 'voice' });
    await api('PUT', '/campaigns/spring/bindings', {
      bindings: [{ integrationId: failingId, on: ['call.ended'] }],
    });
    await api('POST', '/events', {
      id: 'ev-1',
      type: 'call.ended',
      occurredAt: '2026-11-27T10:00:00Z',
      campaignId: 'spring',
      call: { id: 'c-1', status: 'answered' },
      contact: { id: 'k-1' },
    });
    while (hits === 0) await new Promise((r) => setTimeout(r, 10));

    // A test send the API will wait for (2.5 s), on a keep-alive connection as a dialer's would
    // be, and the stop right after it started.
    const testSend = fetch(`${url}/api/v1/integrations/${slowId}/test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, origin: url },
      body: JSON.stringify({ send: true }),
    }).then((res) => res.json());
    await new Promise((r) => setTimeout(r, 100));
    const stopping = performance.now();
    await service.close();
    service = undefined;
    // The stop waited for the test send, then closed its connection rather than keep it idle.
    expect(await testSend).toMatchObject({ response: { status: 200 } });
    expect(performance.now() - stopping).toBeLessThan(10_000);
    // The retry (due about 1 s after the first attempt) was not claimed after the stop began.
    expect(hits).toBe(1);
  },
);
