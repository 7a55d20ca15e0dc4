/**
 * A check added to the save of integrations judges new saves only. An integration stored before
 * it (here: an XML body with a second element after its root, refused at save since the check
 * of what follows the root) keeps sending as it did: its deliveries and tests are not stopped by
 * an upgrade.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { IntegrationStore } from '../../src/store/integration-store.js';
import { startServer, type TestServer } from '../transport/servers.js';

const BODY = '<call id="{{call.id}}"/><status>{{call.status}}</status>';

describe('an integration stored before a stricter save check', () => {
  let t: TestApp;
  let server: TestServer;
  let alice: TestUser;
  const bodies: string[] = [];

  beforeAll(async () => {
    t = await createTestApp('sqlite', { env: { CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' } });
    alice = await t.user({ grants: ['integration'] });
    server = await startServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
  });
  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  const config = () => ({
    url: `${server.origin}/calls`,
    method: 'POST' as const,
    headers: 'Content-Type: application/xml',
    body: BODY,
    responseEncoding: 'text' as const,
    maxRedirects: 0,
  });

  it('is refused at save now', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: alice.headers,
      payload: { name: 'Two roots', type: 'http', config: config() },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([
      expect.objectContaining({
        field: 'config.body',
        message: expect.stringContaining('is not well-formed XML'),
      }),
    ]);
  });

  it('still sends when it was stored before the check', async () => {
    const stored = await new IntegrationStore(t.store.store).create(alice.id, {
      name: 'Two roots',
      description: '',
      type: 'http',
      enabled: true,
      config: config(),
      options: { timeoutMs: 2_000, retry: { maxAttempts: 3 }, responseVariables: [] },
    });
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/integrations/${stored.id}/test`,
      headers: alice.headers,
      payload: { send: true, sample: { call: { id: 'c-1', status: 'answered' } } },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ response: { status: 200 } });
    expect(bodies).toEqual(['<call id="c-1"/><status>answered</status>']);
  });
});
