import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { startServer, type TestServer } from '../transport/servers.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

describe('testing an integration before relying on it', () => {
  let t: TestApp | undefined;
  let server: TestServer | undefined;
  let alice: TestUser;
  const received: Received[] = [];
  afterEach(async () => {
    await t?.close();
    await server?.close();
    t = undefined;
    server = undefined;
    received.length = 0;
  });

  const setup = async (env: Record<string, string> = {}) => {
    t = await createTestApp('sqlite', { env });
    alice = await t.user({ grants: ['integration'] });
    server = await startServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(201, { 'content-type': 'application/json' }).end('{"ticket": 77}');
      });
    });
  };
  const create = async (config: object, options: object = {}) => {
    const res = await t!.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: alice.headers,
      payload: { name: 'CRM', type: 'http', config, options },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  };
  const test = (id: string, payload: object) =>
    t!.app.inject({
      method: 'POST',
      url: `/api/v1/integrations/${id}/test`,
      headers: alice.headers,
      payload,
    });

  it('refuses to save templates with unknown tokens or filters, naming field, line and column', async () => {
    await setup();
    const res = await t!.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: alice.headers,
      payload: {
        name: 'bad',
        type: 'http',
        config: {
          url: 'https://crm.example/{{contact.phonee}}',
          headers: 'Content-Type: application/json\nX-Name: {{contact.firstName | shout}}',
          body: '{\n  "s": "{{call.status}",\n}',
        },
      },
    });
    expect(res.statusCode).toBe(400);
    const details = res.json().error.details as { field: string; line: number; column: number }[];
    expect(details.map((d) => d.field)).toEqual(
      expect.arrayContaining(['config.url', 'config.headers', 'config.body']),
    );
    expect(details.find((d) => d.field === 'config.url')).toMatchObject({ line: 1, column: 23 });
    expect(details.find((d) => d.field === 'config.headers')).toMatchObject({ line: 2 });
    expect(details.find((d) => d.field === 'config.body')).toMatchObject({ line: 2 });
  });

  it('renders with the catalog examples (overridable) and shows the exact request, secrets masked', async () => {
    await setup();
    const id = await create({
      url: 'https://crm.example/calls?phone={{contact.phone}}',
      headers:
        'Content-Type: application/json\nAuthorization: Bearer tok-{{contact.id}}-very-secret',
      body: '{"status": "{{call.status}}", "name": "{{contact.firstName}}"}',
    });
    const res = await test(id, { sample: { contact: { firstName: 'Zoë "Z"' } } });
    expect(res.statusCode, res.body).toBe(200);
    const { request } = res.json();
    expect(request.method).toBe('POST');
    expect(request.url).toBe('https://crm.example/calls?phone=%2B15551234567');
    expect(JSON.parse(request.body)).toEqual({ status: 'answered', name: 'Zoë "Z"' });
    expect(request.headers).toContainEqual(['Authorization', '••••']);
    expect(res.body).not.toContain('very-secret');

    // No body at all is the catalog's examples, not sent.
    const bare = await t!.app.inject({
      method: 'POST',
      url: `/api/v1/integrations/${id}/test`,
      headers: alice.headers,
    });
    expect(bare.statusCode, bare.body).toBe(200);
    expect(bare.json().request.url).toBe('https://crm.example/calls?phone=%2B15551234567');
    expect(bare.json()).not.toHaveProperty('response');
  });

  it("renders {{call.campaignId}} from the sample's campaign unless the sample call has its own", async () => {
    await setup();
    const id = await create({ url: 'https://crm.example/c/{{call.campaignId}}' });
    const urlOf = async (sample: object) => (await test(id, { sample })).json().request.url;
    expect(await urlOf({})).toBe('https://crm.example/c/spring-2026');
    expect(await urlOf({ campaign: { id: 'autumn' } })).toBe('https://crm.example/c/autumn');
    expect(await urlOf({ campaign: { id: 'autumn' }, call: { campaignId: 'own' } })).toBe(
      'https://crm.example/c/own',
    );
  });

  it('sends with send: true through the transport and shows the answer; signed when signing is on', async () => {
    await setup({ CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' });
    const secret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    const id = await create(
      {
        url: `${server!.origin}/calls/{{call.id}}`,
        headers: 'Content-Type: application/json',
        body: '{"d": {{call.duration | json}}}',
      },
      { signing: { secret } },
    );
    const res = await test(id, { send: true, sample: { call: { id: 'c 1/2', duration: 42 } } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      outcome: { kind: 'response', success: true, message: 'HTTP 201' },
      response: { status: 201, body: '{"ticket": 77}', truncated: false },
    });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      method: 'POST',
      url: '/calls/c%201%2F2',
      body: '{"d": 42}',
    });
    const headers = Object.fromEntries(
      ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [
        h,
        String(received[0]!.headers[h]),
      ]),
    );
    expect(() => new Webhook(secret).verify(received[0]!.body, headers)).not.toThrow();
  });

  it('explains a request the network policy refuses, and one a value would break', async () => {
    await setup();
    const id = await create({
      url: `${server!.origin}/x`,
      headers: 'X-Note: {{contact.firstName}}',
    });
    const refused = await test(id, { send: true });
    expect(refused.json().error).toMatch(/refused by the network policy: .*127\.0\.0\.1.*loopback/);
    expect(received).toHaveLength(0);

    const broken = await test(id, { sample: { contact: { firstName: 'Ana\r\nX-Evil: 1' } } });
    expect(broken.json()).toMatchObject({ request: null });
    expect(broken.json().error).toMatch(/config\.headers line 1: .*(CR|line break|carriage)/i);
  });

  it('keeps a multipart body to its parts: a value holding the boundary is not sent', async () => {
    await setup({ CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' });
    const id = await create({
      url: `${server!.origin}/upload`,
      headers: 'Content-Type: multipart/form-data; boundary=XYZ',
      body: '--XYZ\r\nContent-Disposition: form-data; name="name"\r\n\r\n{{contact.firstName}}\r\n--XYZ--\r\n',
    });
    const firstName = 'Ana\r\n--XYZ\r\nContent-Disposition: form-data; name="admin"\r\n\r\ntrue';
    const injected = await test(id, { send: true, sample: { contact: { firstName } } });
    expect(injected.statusCode, injected.body).toBe(200);
    expect(injected.json()).toMatchObject({ request: null });
    expect(injected.json().error).toMatch(
      /config\.body: \{\{contact\.firstName\}\} would write the multipart boundary "--XYZ"/,
    );
    expect(received).toHaveLength(0);

    const plain = await test(id, { send: true, sample: { contact: { firstName: 'Zoë --XY Z' } } });
    expect(plain.json().outcome, plain.body).toMatchObject({ success: true });
    expect(received).toHaveLength(1);
    const form = await new Response(received[0]!.body, {
      headers: { 'content-type': String(received[0]!.headers['content-type']) },
    }).formData();
    expect([...form.entries()]).toEqual([['name', 'Zoë --XY Z']]);
  });
});
