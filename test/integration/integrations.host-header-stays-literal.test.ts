/**
 * A token in a `Host:` header line is held to the rule of a token in the URL's host part: each
 * render may write letters, digits and `-` only. `Host: {{contact.custom.x}}` with `evil.example`
 * let the event data choose the virtual host the remote answers as, around the URL's rule; such a
 * render now fails, naming the header, and nothing is sent. The template itself is saved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';
import { startServer, type TestServer } from '../transport/servers.js';

describe.each(DIALECTS)('a token in a Host header on %s', (backend) => {
  let t: TestApp;
  let server: TestServer;
  let alice: TestUser;
  const hosts: string[] = [];

  beforeAll(async () => {
    t = await createTestApp(backend, { env: { CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' } });
    alice = await t.user({ grants: ['integration'] });
    server = await startServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  const save = async (host: string) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: alice.headers,
      payload: {
        name: 'CRM',
        type: 'http',
        config: {
          url: `${server.origin}/calls`,
          method: 'POST',
          headers: `Content-Type: text/plain\nHost: ${host}`,
          body: 'call {{call.id}}',
          responseEncoding: 'text',
          maxRedirects: 0,
        },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  };
  const test = (id: string, send: boolean, custom: Record<string, string>) =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/integrations/${id}/test`,
      headers: alice.headers,
      payload: { send, sample: { call: { id: 'c-1' }, contact: { custom } } },
    });

  it('sends a value that stays in its label', async () => {
    const id = await save('{{contact.custom.tenant}}.crm.example');
    const sent = await test(id, true, { tenant: 'acme-eu' });
    expect(sent.json(), sent.body).toMatchObject({ response: { status: 200 } });
    expect(hosts).toEqual(['acme-eu.crm.example']);
  });

  it('does not send a value that would choose another host, and says which header', async () => {
    hosts.length = 0;
    for (const host of ['{{contact.custom.x}}', 'crm{{contact.custom.x}}']) {
      const id = await save(host);
      for (const x of ['evil.example', '.evil.example', 'a:8443', 'a@b', 'a b']) {
        const res = await test(id, true, { x });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json().request, `${host} ${x}: ${res.body}`).toBeNull();
        expect(res.json().error).toMatch(
          /^request not sent: config\.headers line 2: Host: \{\{contact\.custom\.x\}\} renders ".*" into the Host header, where only letters, digits and `-` can go/,
        );
      }
    }
    expect(hosts).toEqual([]);
  });
});
