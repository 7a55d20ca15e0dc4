/**
 * A JSON or XML body with tokens needs a `Content-Type` line: without one it is rendered as text,
 * its values inserted as they are, and a first name `a"b` sent `{"n": "a"b"}`. Such an
 * integration is refused at save (create, PUT, PATCH) with a 400 naming `config.body`; with the
 * line it is saved and escapes its values. One stored before the check sends as it did.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';
import { IntegrationStore } from '../../src/store/integration-store.js';
import { startServer, type TestServer } from '../transport/servers.js';

const JSON_BODY = '{"n": "{{contact.firstName}}"}';
const NEEDS =
  'but config.headers has no Content-Type line, so its values would be inserted unescaped (a `"` in one would break it): add `Content-Type: application/json` to the headers, or `Content-Type: text/plain` to send it as written';
const NEEDS_JSON = expect.stringContaining(NEEDS);

describe.each(DIALECTS)('a JSON or XML body without a Content-Type line on %s', (backend) => {
  let t: TestApp;
  let server: TestServer;
  let alice: TestUser;
  const bodies: string[] = [];

  beforeAll(async () => {
    t = await createTestApp(backend, { env: { CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' } });
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

  const config = (headers: string, body = JSON_BODY) => ({
    url: `${server.origin}/calls`,
    method: 'POST' as const,
    headers,
    body,
    responseEncoding: 'text' as const,
    maxRedirects: 0,
  });
  const create = (headers: string, body?: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: alice.headers,
      payload: { name: 'CRM', type: 'http', config: config(headers, body) },
    });
  const send = (id: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/integrations/${id}/test`,
      headers: alice.headers,
      payload: { send: true, sample: { contact: { firstName: 'a"b' } } },
    });

  it('is refused at create, naming config.body', async () => {
    const res = await create('Accept: application/json');
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.details).toEqual([
      { field: 'config.body', line: 1, column: 1, message: `is JSON, ${NEEDS}` },
    ]);
    const xml = await create('', '<call><n>{{contact.firstName}}</n></call>');
    expect(xml.statusCode, xml.body).toBe(400);
    expect(xml.json().error.details).toEqual([
      expect.objectContaining({
        field: 'config.body',
        message: expect.stringMatching(
          /^is an XML document, .*add `Content-Type: application\/xml` to the headers/,
        ),
      }),
    ]);
  });

  it('is refused at an edit, by PUT or PATCH', async () => {
    const created = await create('Content-Type: application/json');
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/integrations/${id}`,
      headers: alice.headers,
      payload: { name: 'CRM', type: 'http', config: config('') },
    });
    expect(put.statusCode, put.body).toBe(400);
    expect(put.json().error.details).toEqual([
      expect.objectContaining({ field: 'config.body', message: NEEDS_JSON }),
    ]);
    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${id}`,
      headers: alice.headers,
      payload: { config: { headers: 'X-Source: callhook' } },
    });
    expect(patch.statusCode, patch.body).toBe(400);
    expect(patch.json().error.details).toEqual([
      expect.objectContaining({ field: 'config.body', message: NEEDS_JSON }),
    ]);
  });

  it('is saved with a Content-Type line, and escapes as it says', async () => {
    bodies.length = 0;
    for (const type of ['application/json', 'text/plain']) {
      const created = await create(`Content-Type: ${type}`);
      expect(created.statusCode, created.body).toBe(201);
      const res = await send(created.json<{ id: string }>().id);
      expect(res.json(), res.body).toMatchObject({ response: { status: 200 } });
    }
    expect(bodies).toEqual(['{"n": "a\\"b"}', '{"n": "a"b"}']);
  });

  it('still sends as it did when it was stored before the check', async () => {
    bodies.length = 0;
    const stored = await new IntegrationStore(t.store.store).create(alice.id, {
      name: 'Untyped JSON',
      description: '',
      type: 'http',
      enabled: true,
      config: config(''),
      options: { timeoutMs: 2_000, retry: { maxAttempts: 3 }, responseVariables: [] },
    });
    const res = await send(stored.id);
    expect(res.json(), res.body).toMatchObject({ response: { status: 200 } });
    expect(bodies).toEqual(['{"n": "a"b"}']);
  });
});
