/**
 * Every error the API answers has the one body `{error: {code, message, details?}}` (SPEC §8,
 * docs/errors.md), also those Fastify itself raises before a route runs: an unknown route or
 * method, a URL that does not decode, a path segment over the router's length cap, a body that is
 * not JSON, too large, or of another media type.
 */
import net from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { errorCodes } from '../../src/errors.js';
import { REQUEST_TIMEOUT_MS } from '../../src/app.js';
import { buildMetricsApp } from '../../src/metrics-app.js';
import { Metrics } from '../../src/metrics.js';
import { createLogger } from '../../src/logger.js';

const MiB = 1024 * 1024;

describe('error bodies', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
    admin = await t.user({ admin: true });
  });
  afterAll(async () => t.close());

  const json = { 'content-type': 'application/json' };
  /** The answer's status and its error code, after checking the body has the one shape. */
  const errorOf = async (request: InjectOptions & { headers?: Record<string, string> }) => {
    const res = await t.app.inject({
      ...request,
      headers: { ...admin.headers, ...request.headers },
    });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json<{ error: { code: string; message: string; details?: unknown } }>();
    expect(Object.keys(body)).toEqual(['error']);
    expect(Object.keys(body.error).filter((k) => k !== 'details')).toEqual(['code', 'message']);
    expect(typeof body.error.message).toBe('string');
    expect(body.error.code in errorCodes, body.error.code).toBe(true);
    return { status: res.statusCode, code: body.error.code };
  };

  it('an unknown route, and a known path with a method it does not take', async () => {
    expect(await errorOf({ url: '/api/v1/nothing-here' })).toEqual({
      status: 404,
      code: 'ROUTE_NOT_FOUND',
    });
    expect(await errorOf({ method: 'PATCH', url: '/api/v1/deliveries' })).toEqual({
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
    });
  });

  it('a URL whose percent-encoding does not decode', async () => {
    for (const url of ['/api/v1/integrations/%E0%A4%A', '/api/v1/%']) {
      expect(await errorOf({ url }), url).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    }
  });

  it('an id in the path longer than the router takes', async () => {
    expect(await errorOf({ url: `/api/v1/integrations/${'a'.repeat(101)}` })).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
    });
  });

  it('a body that is not JSON, missing, or of another media type', async () => {
    const post = (headers: Record<string, string>, payload: string) =>
      errorOf({ method: 'POST', url: '/api/v1/api-keys', headers, payload });
    expect(await post(json, '{"name":')).toEqual({ status: 400, code: 'INVALID_JSON' });
    expect(await post(json, ' ')).toEqual({ status: 400, code: 'INVALID_JSON' });
    // An empty body is no body: the route's schema, which needs one, says so.
    expect(await post(json, '')).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await post({ 'content-type': 'text/plain' }, '{"name":"k"}')).toEqual({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
    expect(await post({ 'content-type': 'application/x-www-form-urlencoded' }, 'name=k')).toEqual({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it('an action that takes no body is done when sent with a JSON content type and no body', async () => {
    // Many clients send the header on every POST and PUT, also on actions without a body.
    const user = await t.user({});
    const granted = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${user.id}/permissions/integration`,
      headers: { ...admin.headers, ...json },
      payload: '',
    });
    expect(granted.statusCode, granted.body).toBe(204);
    const me = await t.app.inject({ url: '/api/v1/me', headers: user.headers });
    expect(me.json<{ permissions: string[] }>().permissions).toContain('integration');
  });

  it('a body that is not JSON says where; valid JSON with a refused key says which', async () => {
    const post = async (url: string, payload: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: { ...admin.headers, ...json },
        payload,
      });
      expect(res.statusCode, res.body).toBe(400);
      return res.json<{
        error: { code: string; message: string; details: Record<string, unknown>[] };
      }>().error;
    };
    // A trailing comma on line 3 of an integration, and in the middle of an event batch.
    const integration = await post(
      '/api/v1/integrations',
      '{"name": "x",\n  "type": "http",\n  "config": {"url": "https://a.example"},\n}',
    );
    expect(integration.code).toBe('INVALID_JSON');
    expect(integration.message).toContain('at line 4, column 1');
    expect(integration.details).toEqual([
      { field: 'body', line: 4, column: 1, message: expect.any(String) },
    ]);
    const batch = '{"events": [{"id": "a"}, {"id": "b"},, {"id": "c"}]}';
    const events = await post('/api/v1/events', batch);
    expect(events.code).toBe('INVALID_JSON');
    expect(events.details).toEqual([
      {
        field: 'body',
        line: 1,
        column: batch.indexOf(',,') + 2,
        message: expect.any(String),
      },
    ]);
    const proto = await post('/api/v1/api-keys', '{"name": "k", "__proto__": {"admin": true}}');
    expect(proto.code).toBe('INVALID_JSON');
    expect(proto.message).toContain('"__proto__"');
    expect(proto.message).not.toContain('not valid JSON');
  });

  it('a JSON body that is not UTF-8 is refused, naming the byte, and nothing is stored', async () => {
    // A Latin-1 "José": é is the single byte 0xE9, which is not UTF-8.
    const latin = Buffer.from('{"name":"José"}', 'latin1');
    const session = await t.signIn(admin);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: { ...session, ...json },
      payload: latin,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toEqual({
      error: {
        code: 'INVALID_JSON',
        message:
          'The request body is not valid JSON: it is not UTF-8 (byte 0xE9 at offset 12); send it as UTF-8',
      },
    });
    const keys = await t.app.inject({ url: '/api/v1/api-keys', headers: admin.headers });
    expect(keys.json<{ items: { name: string }[] }>().items.map((k) => k.name)).not.toContain(
      'Jos\uFFFD',
    );
    // The same name in UTF-8 is taken as sent.
    const utf8 = await t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: { ...session, ...json },
      payload: Buffer.from('{"name":"Zoë José"}'),
    });
    expect(utf8.statusCode, utf8.body).toBe(201);
    expect(utf8.json()).toMatchObject({ name: 'Zoë José' });
  });

  it('a body over 1 MiB, or an event batch over 10 MiB, is 413', async () => {
    const padded = (bytes: number) => {
      const text = JSON.stringify({ events: [{ id: 'e', pad: '' }] });
      return text.replace('"pad":""', `"pad":"${'x'.repeat(bytes - text.length)}"`);
    };
    const integrations = (payload: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/integrations',
        headers: { ...admin.headers, ...json },
        payload,
      });
    // At the limit the body is read (and judged on its fields); one byte over it is not.
    expect((await integrations(padded(MiB))).statusCode).toBe(400);
    expect(
      await errorOf({
        method: 'POST',
        url: '/api/v1/integrations',
        headers: json,
        payload: padded(MiB + 1),
      }),
    ).toEqual({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
    const events = (payload: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: { ...admin.headers, ...json },
        payload,
      });
    expect((await events(padded(10 * MiB))).statusCode).toBe(202);
    expect(
      await errorOf({
        method: 'POST',
        url: '/api/v1/events',
        headers: json,
        payload: padded(10 * MiB + 1),
      }),
    ).toEqual({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
  });

  it('a request whose body trickles in, or stops after the headers, is answered 408 and closed', async () => {
    // Fastify's default (no limit) kept such a connection open for as long as the client liked.
    expect(t.app.server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
    const slow = await createTestApp('sqlite', { deps: { requestTimeoutMs: 300 } });
    const metrics = await buildMetricsApp({
      logger: createLogger('silent'),
      metrics: new Metrics(),
      store: slow.store.store,
      requestTimeoutMs: 300,
    });
    try {
      for (const app of [slow.app, metrics]) {
        await app.listen({ port: 0, host: '127.0.0.1' });
        const { port } = app.server.address() as net.AddressInfo;
        for (const trickle of [true, false]) {
          const socket = net.connect(port, '127.0.0.1');
          let answer = '';
          socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
          socket.write(
            'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n' +
              'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
          );
          const timer = trickle ? setInterval(() => socket.write(' '), 50) : undefined;
          const closed = new Promise<string>((resolve) =>
            socket.on('close', () => resolve('closed')),
          );
          let lateTimer: NodeJS.Timeout | undefined;
          const late = new Promise<string>((resolve) => {
            lateTimer = setTimeout(() => resolve('still open'), 3_000);
          });
          const result = await Promise.race([closed, late]);
          clearTimeout(lateTimer);
          clearInterval(timer);
          socket.destroy();
          expect(result, `${trickle ? 'trickling' : 'stopped'} body`).toBe('closed');
          // The metrics listener reads no body: it answers 404 at once, then the rest times out.
          expect(answer).toMatch(app === metrics ? /^HTTP\/1\.1 (404|408) / : /^HTTP\/1\.1 408 /);
        }
      }
    } finally {
      await metrics.close();
      await slow.close();
    }
  });

  it('a value of a field that also takes null is one detail: what is wrong, or the types it takes', async () => {
    const patch = async (payload: object) => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/campaigns',
        headers: admin.headers,
        payload: { name: 'c', type: 'integration' },
      });
      const res = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/campaigns/${created.json<{ id: string }>().id}`,
        headers: admin.headers,
        payload,
      });
      expect(res.statusCode, res.body).toBe(400);
      return res.json<{ error: { details: unknown[] } }>().error.details;
    };
    expect(await patch({ ratePerSecond: 20_000 })).toEqual([
      { field: 'body.ratePerSecond', message: 'must be <= 10000' },
    ]);
    expect(await patch({ ratePerSecond: 'fast' })).toEqual([
      { field: 'body.ratePerSecond', message: 'must be number or null' },
    ]);
    // A value of a listed type is judged as sent, never coerced to null (which clears a setting).
    expect(await patch({ ratePerSecond: 0 })).toEqual([
      { field: 'body.ratePerSecond', message: 'must be >= 0.00001' },
    ]);
    expect(await patch({ contactListId: '' })).toEqual([
      { field: 'body.contactListId', message: 'must NOT have fewer than 1 characters' },
    ]);
    expect(await patch({ integrationId: {} })).toEqual([
      { field: 'body.integrationId', message: 'must be string or null' },
    ]);
    // A value of none of a type list's types names them as a union's does.
    const list = await t.app.inject({
      method: 'POST',
      url: '/api/v1/contact-lists',
      headers: admin.headers,
      payload: { name: 'l' },
    });
    const imported = await t.app.inject({
      method: 'POST',
      url: `/api/v1/contact-lists/${list.json<{ id: string }>().id}/contacts`,
      headers: admin.headers,
      payload: { contacts: [{ phone: '+15551230001', custom: { plan: {} } }] },
    });
    expect(imported.json<{ error: { details: unknown[] } }>().error.details).toEqual([
      { field: 'body.contacts.0.custom.plan', message: 'must be string, number, boolean or null' },
    ]);
  });

  it('a JSON body is taken as sent: null, true or a string is not read as a number, or a number as a string', async () => {
    const details = async (request: InjectOptions) => {
      const res = await t.app.inject({ ...request, headers: admin.headers });
      expect(res.statusCode, res.body).toBe(400);
      return res.json().error.details;
    };
    const integration = await t.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: admin.headers,
      payload: { name: 'i', type: 'http', config: { url: 'https://a.example/x' } },
    });
    const invoke = {
      method: 'POST' as const,
      url: `/api/v1/integrations/${integration.json().id}/invoke`,
    };
    // Read as 0 and 1 before: "must be >= 100".
    for (const timeoutMs of [null, true, '2500'])
      expect(await details({ ...invoke, payload: { timeoutMs } }), String(timeoutMs)).toEqual([
        { field: 'body.timeoutMs', message: 'must be integer' },
      ]);
    // Read as "" and "123" before.
    for (const name of [null, 123])
      expect(
        await details({
          method: 'POST',
          url: '/api/v1/campaigns',
          payload: { name, type: 'voice' },
        }),
      ).toEqual([{ field: 'body.name', message: 'must be string' }]);
    // The query string is text: its numbers are read as such.
    const page = await t.app.inject({ url: '/api/v1/campaigns?limit=2', headers: admin.headers });
    expect(page.statusCode, page.body).toBe(200);
  });

  it('a name of white space only is refused wherever a name is taken', async () => {
    const blank = ' \t ';
    const cases: [string, object][] = [
      ['/api/v1/users', { email: 'b@example.com', password: 'long-enough', name: blank }],
      ['/api/v1/roles', { name: blank }],
      ['/api/v1/api-keys', { name: blank }],
      ['/api/v1/contact-lists', { name: blank }],
      ['/api/v1/campaigns', { name: blank, type: 'voice' }],
      ['/api/v1/integrations', { name: blank, type: 'http', config: { url: 'https://a.example' } }],
    ];
    for (const [url, payload] of cases) {
      const res = await t.app.inject({ method: 'POST', url, headers: admin.headers, payload });
      expect(res.statusCode, `${url} ${res.body}`).toBe(400);
      expect(res.json().error.details, url).toEqual([
        { field: 'body.name', message: 'must not be blank' },
      ]);
    }
    const campaign = await t.app.inject({
      method: 'POST',
      url: '/api/v1/campaigns',
      headers: admin.headers,
      payload: { name: ' Spring ', type: 'voice' },
    });
    expect(campaign.statusCode, campaign.body).toBe(201);
    const renamed = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/campaigns/${campaign.json().id}`,
      headers: admin.headers,
      payload: { name: blank },
    });
    expect(renamed.statusCode).toBe(400);
  });

  it('a value outside a fixed list is one detail, not one per value it is not, naming the values', async () => {
    const details = async (request: InjectOptions) =>
      (await t.app.inject({ ...request, headers: admin.headers })).json().error.details;
    expect(
      await details({
        method: 'POST',
        url: '/api/v1/campaigns',
        payload: { name: 'c', type: 'sms' },
      }),
    ).toEqual([{ field: 'body.type', message: 'must be one of: voice, ivr, integration' }]);
    expect(
      await details({
        method: 'POST',
        url: '/api/v1/integrations',
        payload: { name: 'i', type: 'ftp', config: {} },
      }),
    ).toEqual([{ field: 'body.type', message: 'must be one of: http, soap' }]);
    expect(await details({ url: '/api/v1/integrations?type=ftp' })).toEqual([
      { field: 'querystring.type', message: 'must be one of: http, soap' },
    ]);
    expect(await details({ url: '/api/v1/deliveries?status=done' })).toEqual([
      {
        field: 'querystring.status',
        message: 'must be one of: pending, succeeded, failed, cancelled',
      },
    ]);
    // Checked after the request's schema: the integration's config, and each event of a batch.
    expect(
      await details({
        method: 'POST',
        url: '/api/v1/integrations',
        payload: { name: 'i', type: 'http', config: { url: 'https://a.example', method: 'GET ' } },
      }),
    ).toEqual([
      { field: 'config.method', message: 'must be one of: GET, POST, PUT, DELETE, PATCH' },
    ]);
    expect(
      await details({
        method: 'POST',
        url: '/api/v1/events',
        payload: {
          id: 'e',
          type: 'call.hangup',
          occurredAt: '2026-11-27T10:00:00Z',
          campaignId: 'c',
          call: {},
          contact: {},
        },
      }),
    ).toEqual([
      {
        field: 'body.type',
        message:
          'type must be one of: call.started, call.ringing, call.answered, call.ended, call.ivr_input',
      },
    ]);
  });
});
