import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, type ResponseOutcome } from '../../src/transport/http-client.js';
import { policyOpening, readRequest, startServer, type TestServer } from './servers.js';

interface Seen {
  method: string;
  url: string;
  headers: string[];
  body: string;
}

let server: TestServer;
let client: HttpClient;

/** Echoes what it received as JSON, with a few response headers of its own. */
async function echo(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const seen: Seen = {
    method: request.method ?? '',
    url: request.url ?? '',
    headers: request.rawHeaders,
    body: await readRequest(request),
  };
  response.setHeader('content-type', 'application/json');
  response.setHeader('set-cookie', ['a=1', 'b=2']);
  response.setHeader('x-request-id', 'r-42');
  response.statusCode = request.url === '/created' ? 201 : 200;
  response.end(JSON.stringify(seen));
}

beforeAll(async () => {
  server = await startServer((request, response) => void echo(request, response));
  client = new HttpClient({ policy: policyOpening('127.0.0.0/8') });
});
afterAll(async () => {
  await client.close();
  await server.close();
});

async function send(
  method: string,
  path: string,
  headers: [string, string][] = [],
  body?: string | Buffer,
): Promise<{ outcome: ResponseOutcome; seen: Seen }> {
  const outcome = await client.send({
    method,
    url: server.origin + path,
    headers,
    timeoutMs: 5_000,
    ...(body === undefined ? {} : { body }),
  });
  if (outcome.kind !== 'response')
    throw new Error(`expected a response, got ${JSON.stringify(outcome)}`);
  return { outcome, seen: JSON.parse(outcome.body.toString('utf8')) as Seen };
}

function header(seen: Seen, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < seen.headers.length; i += 2) {
    if (seen.headers[i]?.toLowerCase() === name) values.push(seen.headers[i + 1] ?? '');
  }
  return values;
}

describe('HttpClient sends requests as given', () => {
  it.each(['GET', 'DELETE', 'HEAD', 'OPTIONS'])('%s without a body', async (method) => {
    const outcome = await client.send({
      method,
      url: `${server.origin}/calls?phone=%2B1555`,
      headers: [],
      timeoutMs: 5_000,
    });
    expect(outcome).toMatchObject({ kind: 'response', status: 200 });
    if (method !== 'HEAD' && outcome.kind === 'response') {
      const seen = JSON.parse(outcome.body.toString()) as Seen;
      expect(seen).toMatchObject({ method, url: '/calls?phone=%2B1555', body: '' });
    }
  });

  it.each(['POST', 'PUT', 'PATCH'])('%s with a JSON body', async (method) => {
    const body = JSON.stringify({ status: 'answered', name: 'Ana "the" Ñ' });
    const { seen } = await send(method, '/calls', [['Content-Type', 'application/json']], body);
    expect(seen.method).toBe(method);
    expect(seen.body).toBe(body);
    expect(header(seen, 'content-type')).toEqual(['application/json']);
    expect(header(seen, 'content-length')).toEqual([String(Buffer.byteLength(body))]);
  });

  it('sends XML, form and plain text bodies byte for byte, and a Buffer body', async () => {
    const xml = '<?xml version="1.0"?><call><status>answered</status><note>a &amp; b</note></call>';
    const form = 'status=answered&phone=%2B15551234567&name=Ana+Maria';
    const text = 'call c-9 ended: answered\nline 2';
    for (const [type, body] of [
      ['application/xml', xml],
      ['application/x-www-form-urlencoded', form],
      ['text/plain; charset=utf-8', text],
    ] as const) {
      const { seen } = await send('POST', '/in', [['content-type', type]], body);
      expect(seen.body).toBe(body);
      expect(header(seen, 'content-type')).toEqual([type]);
    }
    const { seen } = await send('POST', '/in', [], Buffer.from('bytes ✓'));
    expect(seen.body).toBe('bytes ✓');
  });

  it('sends headers in order, repeated names repeatedly, and a default User-Agent', async () => {
    const { seen } = await send('GET', '/h', [
      ['Authorization', 'Bearer abc'],
      ['X-Tag', 'one'],
      ['Cookie', 'sid=1'],
      ['X-Tag', 'two'],
      ['Idempotency-Key', 'dlv-1'],
    ]);
    expect(header(seen, 'authorization')).toEqual(['Bearer abc']);
    expect(header(seen, 'x-tag')).toEqual(['one', 'two']);
    expect(header(seen, 'cookie')).toEqual(['sid=1']);
    expect(header(seen, 'idempotency-key')).toEqual(['dlv-1']);
    expect(header(seen, 'user-agent')).toEqual(['Callhook/0.1']);
    const custom = await send('GET', '/h', [['User-Agent', 'crm-sync']]);
    expect(header(custom.seen, 'user-agent')).toEqual(['crm-sync']);
  });

  it('turns user info of the URL into Basic authorization', async () => {
    const url = server.origin.replace('http://', 'http://ana:p%40ss@') + '/u';
    const outcome = await client.send({ method: 'GET', url, headers: [], timeoutMs: 5_000 });
    expect(outcome.kind).toBe('response');
    if (outcome.kind !== 'response') return;
    const seen = JSON.parse(outcome.body.toString()) as Seen;
    expect(header(seen, 'authorization')).toEqual([
      `Basic ${Buffer.from('ana:p@ss').toString('base64')}`,
    ]);
  });

  it('keeps status, every response header (lower-case, repeated ones each) and timing', async () => {
    const { outcome } = await send('POST', '/created', [], '{}');
    expect(outcome.status).toBe(201);
    expect(outcome.headers).toEqual(
      expect.arrayContaining([
        ['content-type', 'application/json'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['x-request-id', 'r-42'],
      ]),
    );
    expect(outcome).toMatchObject({
      bodyTruncated: false,
      redirects: 0,
      url: `${server.origin}/created`,
    });
    expect(outcome.bodyBytes).toBe(outcome.body.length);
    expect(outcome.durationMs).toBeGreaterThan(0);
  });

  it('reuses keep-alive connections to the same origin', async () => {
    const before = server.connections();
    for (let i = 0; i < 20; i += 1) await send('GET', '/again');
    expect(server.connections() - before).toBeLessThanOrEqual(1);
  });

  it('answers a non-2xx status as a response, not as an error', async () => {
    const failing = await startServer((_request, response) => {
      response.statusCode = 503;
      response.setHeader('retry-after', '7');
      response.end('busy');
    });
    try {
      const outcome = await client.send({
        method: 'POST',
        url: failing.origin,
        headers: [],
        body: 'x',
        timeoutMs: 5_000,
      });
      expect(outcome).toMatchObject({ kind: 'response', status: 503 });
      if (outcome.kind === 'response') {
        expect(outcome.headers).toContainEqual(['retry-after', '7']);
        expect(outcome.body.toString()).toBe('busy');
      }
    } finally {
      await failing.close();
    }
  });
});

describe('HttpClient answers a bad request with what is wrong, sending nothing', () => {
  it.each([
    [{ url: 'crm.example/calls' }, 'url "crm.example/calls" is not an absolute URL'],
    [{ url: 'ftp://127.0.0.1/x' }, 'must be http: or https:, not ftp:'],
    [{ method: 'GE T' }, 'method "GE T" is not an HTTP method'],
    [
      {
        headers: [
          ['X-Ok', 'fine'],
          ['X-Bad', 'a\r\nInjected: yes'],
        ],
      },
      'header 2 (X-Bad): the value contains CR, LF or NUL',
    ],
    [{ headers: [['Bad Name', 'v']] }, 'header 1: "Bad Name" is not a valid header name'],
    [{ timeoutMs: 0 }, 'timeoutMs must be a positive number, got 0'],
  ] as const)('%o', async (change, reason) => {
    const before = server.connections();
    const outcome = await client.send({
      method: 'GET',
      url: `${server.origin}/x`,
      headers: [],
      timeoutMs: 1_000,
      ...change,
    });
    expect(outcome.kind).toBe('invalid-request');
    if (outcome.kind === 'invalid-request') expect(outcome.reason).toContain(reason);
    expect(server.connections()).toBe(before);
  });
});
