/**
 * A token written in a URL's host part (`https://crm{{contact.custom.v}}/path`) could move the
 * request to another host: `.evil.example` renders `https://crm.evil.example/path`. Saving one is
 * refused naming `config.url`; a token that starts the URL (a whole base URL) and tokens in the
 * path, query or fragment are saved as before. An integration stored before the check still
 * loads and sends, but a value that would change its host is not sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { IntegrationStore } from '../../src/store/integration-store.js';
import { startServer, type TestServer } from '../transport/servers.js';

const HOST_PART =
  /^has a token in its host part \(between `\/\/` and the next `\/`, `\?` or `#`\), where a value such as "\.evil\.example" or "@other\.example" would send the request to another host/;

describe('a token in the host part of a URL template', () => {
  let t: TestApp;
  let server: TestServer;
  let alice: TestUser;
  const received: string[] = [];

  beforeAll(async () => {
    t = await createTestApp('sqlite', { env: { CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' } });
    alice = await t.user({ grants: ['integration'] });
    server = await startServer((req, res) => {
      received.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  const config = (url: string) => ({
    url,
    method: 'POST' as const,
    headers: 'Content-Type: text/plain',
    body: 'call {{call.id}}',
    responseEncoding: 'text' as const,
    maxRedirects: 0,
  });
  const save = (url: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: alice.headers,
      payload: { name: 'CRM', type: 'http', config: config(url) },
    });
  const stored = (url: string) =>
    new IntegrationStore(t.store.store).create(alice.id, {
      name: 'Stored before the check',
      description: '',
      type: 'http',
      enabled: true,
      config: config(url),
      options: { timeoutMs: 2_000, retry: { maxAttempts: 3 }, responseVariables: [] },
    });
  const test = (id: string, send: boolean, custom: Record<string, string>) =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/integrations/${id}/test`,
      headers: alice.headers,
      payload: { send, sample: { call: { id: 'c-1' }, contact: { custom } } },
    });

  it('is refused at save, naming config.url and where the token is', async () => {
    for (const [url, column] of [
      ['https://crm{{contact.custom.v}}/path', 12],
      ['https://crm.example{{contact.custom.v}}', 20],
      ['https://crm.example:{{contact.custom.port}}/calls', 21],
    ] as const) {
      const res = await save(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [
          { field: 'config.url', line: 1, column, message: expect.stringMatching(HOST_PART) },
        ],
      });
    }
  });

  it('is refused by an edit too', async () => {
    const created = await save('https://crm.example/calls/{{call.id}}');
    expect(created.statusCode, created.body).toBe(201);
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${created.json<{ id: string }>().id}`,
      headers: alice.headers,
      payload: { config: { url: 'https://{{contact.custom.tenant}}.crm.example/calls' } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([
      expect.objectContaining({ field: 'config.url', message: expect.stringMatching(HOST_PART) }),
    ]);
  });

  it('is saved at the start (a base URL) and in the path, query and fragment', async () => {
    for (const url of [
      '{{contact.custom.crmUrl}}/calls',
      'https://crm.example/{{contact.custom.v}}',
      'https://crm.example?v={{contact.custom.v}}',
      'https://crm.example#{{contact.custom.v}}',
    ]) {
      const res = await save(url);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(201);
    }
  });

  it('stored before the check: loads, and sends what keeps its host', async () => {
    const url = `http://127.0.0.{{contact.custom.octet}}:${server.port}/calls`;
    const integration = await stored(url);
    const read = await t.app.inject({
      method: 'GET',
      url: `/api/v1/integrations/${integration.id}`,
      headers: alice.headers,
    });
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json().config.url).toBe(url);

    const res = await test(integration.id, true, { octet: '1' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ response: { status: 200 } });
    expect(received).toEqual(['/calls']);
  });

  it('stored before the check: a value that would change its host is not sent', async () => {
    const integration = await stored('https://crm.example{{contact.custom.v}}/calls');
    const safe = await test(integration.id, false, { v: '-eu' });
    expect(safe.json()).toMatchObject({ request: { url: 'https://crm.example-eu/calls' } });

    for (const v of ['.evil.example', '@other.example']) {
      const res = await test(integration.id, false, { v });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().request).toBeNull();
      expect(res.json().error).toMatch(
        /^request not sent: config\.url: \{\{contact\.custom\.v\}\} renders ".*" into the URL's host part, where only letters, digits and `-` can go/,
      );
    }
  });
});
