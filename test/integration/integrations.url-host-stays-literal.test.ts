/**
 * A token written in a URL's host part (`https://{{contact.custom.tenant}}.crm.example/`, a port,
 * a user name) may render letters, digits and `-` only: `.evil.example` in
 * `https://crm{{contact.custom.v}}/path` would have sent the request, with its headers and
 * signature, to `crm.evil.example`. Such a render fails and nothing is sent; the template itself
 * is saved, and so are tokens that start the URL (a whole base URL) or sit after the host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { startServer, type TestServer } from '../transport/servers.js';

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
  const test = (id: string, send: boolean, custom: Record<string, string>) =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/integrations/${id}/test`,
      headers: alice.headers,
      payload: { send, sample: { call: { id: 'c-1' }, contact: { custom } } },
    });

  it('saves a token in the host part, and one at the start or after the host', async () => {
    for (const url of [
      'https://{{contact.custom.tenant}}.crm.example/calls',
      'https://crm{{contact.custom.v}}/path',
      'https://crm.example:{{contact.custom.port}}/calls',
      'https://{{contact.custom.user}}@crm.example/calls',
      '{{contact.custom.crmUrl}}/calls',
      'https://crm.example/{{contact.custom.v}}',
      'https://crm.example?v={{contact.custom.v}}',
      'https://crm.example#{{contact.custom.v}}',
    ]) {
      const res = await save(url);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(201);
    }
  });

  it('sends a value that stays in its label', async () => {
    const url = `http://127.0.0.{{contact.custom.octet}}:${server.port}/calls`;
    const saved = await save(url);
    expect(saved.statusCode, saved.body).toBe(201);
    const sent = await test(saved.json<{ id: string }>().id, true, { octet: '1' });
    expect(sent.json(), sent.body).toMatchObject({ response: { status: 200 } });
    expect(received).toEqual(['/calls']);
  });

  it('does not send a value that would change its host', async () => {
    const created = await save('https://crm.example{{contact.custom.v}}/calls');
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    const safe = await test(id, false, { v: '-eu' });
    expect(safe.json()).toMatchObject({ request: { url: 'https://crm.example-eu/calls' } });

    for (const v of ['.evil.example', '@other.example', ':8443', '%2eevil', 'a/b']) {
      const res = await test(id, false, { v });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().request).toBeNull();
      expect(res.json().error).toMatch(
        /^request not sent: config\.url: \{\{contact\.custom\.v\}\} renders ".*" into the URL's host part, where only letters, digits and `-` can go/,
      );
    }
  });

  it('does not send a value the URL parser reads as an IPv4 address', async () => {
    // A host that ends in a number is an address: `134744072` is 8.8.8.8, `0x7f000001` 127.0.0.1.
    const created = await save('https://{{contact.custom.host}}/calls');
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    const label = await test(id, false, { host: 'crm-eu' });
    expect(label.json()).toMatchObject({ request: { url: 'https://crm-eu/calls' } });
    for (const host of ['134744072', '0x08080808', '8']) {
      const res = await test(id, false, { host });
      expect(res.json().request, `${host}: ${res.body}`).toBeNull();
      expect(res.json().error).toMatch(/^request not sent: config\.url: renders the host ".*", /);
    }
    // An address written out whole, its last number from the data, is still sent as it is.
    const octet = await save('https://10.0.0.{{contact.custom.octet}}/calls');
    const sent = await test(octet.json<{ id: string }>().id, false, { octet: '7' });
    expect(sent.json()).toMatchObject({ request: { url: 'https://10.0.0.7/calls' } });
  });

  it('checks the host part after the extra slashes, backslashes and tabs the URL parser skips', async () => {
    // `https:///crm.evil.example/` is `https://crm.evil.example/`: an http(s) URL's host starts
    // after every `/`, `\`, tab and newline that follows `https:`.
    for (const url of [
      'https:///crm{{contact.custom.v}}/calls',
      'https://\\crm{{contact.custom.v}}/calls',
      'https://\t/crm{{contact.custom.v}}/calls',
    ]) {
      const created = await save(url);
      expect(created.statusCode, `${url}: ${created.body}`).toBe(201);
      const res = await test(created.json<{ id: string }>().id, false, { v: '.evil.example' });
      expect(res.json().request, `${JSON.stringify(url)}: ${res.body}`).toBeNull();
      expect(res.json().error).toMatch(/renders "\.evil\.example" into the URL's host part/);
    }
  });
});
