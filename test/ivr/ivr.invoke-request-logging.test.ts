/**
 * The invoke route logs at `warn` (docs/ivr.md): each invocation is already logged as a delivery,
 * so Fastify's two `info` lines per request (received, completed) are not written for it, while
 * the other routes keep them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';

describe.each(DIALECTS)('request logging of IVR invocations on %s', (backend) => {
  let t: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    t = await createTestApp(backend, { captureLogs: true });
    alice = await t.user({ grants: ['integration'] });
  });
  afterAll(async () => {
    await t?.close();
  });

  const requestLines = (url: string) =>
    t.logs
      .map((line) => JSON.parse(line) as { msg?: string; req?: { url?: string }; reqId?: string })
      .filter((line) => line.msg === 'incoming request' && line.req?.url === url);

  it('writes no info line per invocation, and keeps them for other routes', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: alice.headers,
      payload: {
        name: 'refused',
        type: 'http',
        // The default network policy refuses loopback: the outcome is `error`, nothing is sent.
        config: { method: 'GET', url: 'http://127.0.0.1:9/balance' },
        options: {},
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const url = `/api/v1/integrations/${created.json<{ id: string }>().id}/invoke`;
    const invoked = await t.app.inject({
      method: 'POST',
      url,
      headers: alice.headers,
      payload: {},
    });
    expect(invoked.statusCode).toBe(200);
    expect(invoked.json<{ outcome: string }>().outcome).toBe('error');
    expect(requestLines(url)).toEqual([]);

    await t.app.inject({ url: '/api/v1/me', headers: alice.headers });
    expect(requestLines('/api/v1/me')).toHaveLength(1);
  });
});
