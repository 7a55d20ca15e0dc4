/**
 * An HTTP integration, sent for real through the test endpoint to a local server: every method,
 * every body kind, tokens in path, query, headers and body, each arriving escaped for its place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XMLParser } from 'fast-xml-parser';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { startServer, type TestServer } from '../transport/servers.js';

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const contact = {
  firstName: 'Zoë "Z" <&> +1',
  phone: '+1 555/123',
  custom: { plan: 'gold & silver' },
};

const BODIES = {
  json: {
    type: 'application/json',
    body: '{"name": "{{contact.firstName}}", "plan": "{{contact.custom.plan}}"}',
  },
  xml: {
    type: 'application/xml',
    body: '<c><name>{{contact.firstName}}</name><plan>{{contact.custom.plan}}</plan></c>',
  },
  form: {
    type: 'application/x-www-form-urlencoded',
    body: 'name={{contact.firstName}}&plan={{contact.custom.plan}}',
  },
  text: { type: 'text/plain', body: 'Call from {{contact.firstName}} ({{contact.custom.plan}})' },
} as const;

function parsed(kind: keyof typeof BODIES, body: string): { name: string; plan: string } {
  if (kind === 'json') return JSON.parse(body) as { name: string; plan: string };
  if (kind === 'xml')
    return (
      new XMLParser({ parseTagValue: false }).parse(body) as { c: { name: string; plan: string } }
    ).c;
  if (kind === 'form') {
    const form = new URLSearchParams(body);
    return { name: form.get('name')!, plan: form.get('plan')! };
  }
  const match = /^Call from (.*) \((.*)\)$/.exec(body)!;
  return { name: match[1]!, plan: match[2]! };
}

describe('HTTP integrations end to end through the transport', () => {
  let t: TestApp;
  let server: TestServer;
  let alice: TestUser;
  const seen: Seen[] = [];
  beforeAll(async () => {
    t = await createTestApp('sqlite', { env: { CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' } });
    alice = await t.user({ grants: ['integration'] });
    server = await startServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  const cases = (['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const).flatMap((method) =>
    (Object.keys(BODIES) as (keyof typeof BODIES)[]).map((kind) => [method, kind] as const),
  );

  it.each(cases)('%s with a %s body', async (method, kind) => {
    const { type, body } = BODIES[kind];
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: alice.headers,
      payload: {
        name: `${method} ${kind}`,
        type: 'http',
        config: {
          url: `${server.origin}/contacts/{{contact.phone}}/calls?name={{contact.firstName}}&plan={{contact.custom.plan}}`,
          method,
          headers: `Content-Type: ${type}\nX-Caller: {{contact.firstName}}\nAuthorization: Bearer key-{{contact.phone | digits}}`,
          body,
        },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    seen.length = 0;
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/integrations/${created.json().id}/test`,
      headers: alice.headers,
      payload: { send: true, sample: { contact } },
    });
    expect(res.json().outcome, res.body).toMatchObject({ success: true });
    expect(seen).toHaveLength(1);
    const got = seen[0]!;
    expect(got.method).toBe(method);
    const url = new URL(got.url, server.origin);
    expect(decodeURIComponent(url.pathname)).toBe('/contacts/+1 555/123/calls');
    expect(url.pathname).toBe('/contacts/%2B1%20555%2F123/calls');
    expect(url.searchParams.get('name')).toBe(contact.firstName);
    expect(url.searchParams.get('plan')).toBe(contact.custom.plan);
    // Non-ASCII header values travel as their UTF-8 bytes (Node reads header bytes as latin1).
    expect(Buffer.from(String(got.headers['x-caller']), 'latin1').toString('utf8')).toBe(
      contact.firstName,
    );
    expect(got.headers['authorization']).toBe('Bearer key-1555123');
    expect(got.headers['idempotency-key']).toBeUndefined();
    if (method === 'GET') {
      expect(got.body).toBe('');
    } else {
      expect(got.headers['content-type']).toBe(type);
      expect(parsed(kind, got.body)).toEqual({
        name: contact.firstName,
        plan: contact.custom.plan,
      });
    }
  });
});
