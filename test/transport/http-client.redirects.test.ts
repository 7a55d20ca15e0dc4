import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpClient } from '../../src/transport/http-client.js';
import { policyOpening, readRequest, startServer, type TestServer } from './servers.js';

let server: TestServer;
let other: TestServer;
let client: HttpClient;

/**
 * `/to?status=302&location=…` answers a redirect; anything else echoes method, path, body and
 * the credentials it got, as JSON.
 */
beforeAll(async () => {
  const handler =
    (origin: () => string) =>
    (
      request: import('node:http').IncomingMessage,
      response: import('node:http').ServerResponse,
    ) => {
      void readRequest(request).then((body) => {
        const url = new URL(request.url ?? '/', origin());
        if (url.pathname === '/to') {
          response.writeHead(Number(url.searchParams.get('status')), {
            location: url.searchParams.get('location') ?? '',
          });
          response.end('moved');
          return;
        }
        response.setHeader('content-type', 'application/json');
        response.end(
          JSON.stringify({
            method: request.method,
            path: url.pathname,
            body,
            authorization: request.headers.authorization ?? null,
            apiKey: request.headers['x-api-key'] ?? null,
            idempotencyKey: request.headers['idempotency-key'] ?? null,
            contentType: request.headers['content-type'] ?? null,
          }),
        );
      });
    };
  server = await startServer(handler(() => server.origin));
  other = await startServer(
    handler(() => other.origin),
    { host: '127.0.0.2' },
  );
  // Only this server's address is open: redirects anywhere else meet the policy.
  client = new HttpClient({ policy: policyOpening('127.0.0.1/32', '127.0.0.2/32') });
});
afterAll(async () => {
  await client.close();
  await server.close();
  await other.close();
});

function to(status: number, location: string): string {
  return `${server.origin}/to?status=${status}&location=${encodeURIComponent(location)}`;
}

const post = {
  method: 'POST',
  headers: [
    ['content-type', 'application/json'],
    ['authorization', 'Bearer s3cret'],
  ] as [string, string][],
  body: '{"a":1}',
  timeoutMs: 5_000,
};

describe('HttpClient and redirects', () => {
  it('does not follow a redirect by default: the 3xx is the response', async () => {
    const outcome = await client.send({ ...post, url: to(302, '/landing') });
    expect(outcome).toMatchObject({ kind: 'response', status: 302, redirects: 0 });
    if (outcome.kind === 'response') {
      expect(outcome.headers).toContainEqual(['location', '/landing']);
      expect(outcome.body.toString()).toBe('moved');
    }
  });

  it('follows up to maxRedirects, keeping method and body on 307/308', async () => {
    for (const status of [307, 308]) {
      const outcome = await client.send({ ...post, url: to(status, '/landing'), maxRedirects: 1 });
      expect(outcome).toMatchObject({
        kind: 'response',
        status: 200,
        redirects: 1,
        url: `${server.origin}/landing`,
      });
      if (outcome.kind === 'response') {
        expect(JSON.parse(outcome.body.toString())).toEqual({
          method: 'POST',
          path: '/landing',
          body: '{"a":1}',
          authorization: 'Bearer s3cret',
          apiKey: null,
          idempotencyKey: null,
          contentType: 'application/json',
        });
      }
    }
  });

  it('turns POST into a body-less GET on 303, 302 and 301', async () => {
    for (const status of [301, 302, 303]) {
      const outcome = await client.send({ ...post, url: to(status, '/landing'), maxRedirects: 1 });
      expect(outcome.kind).toBe('response');
      if (outcome.kind === 'response') {
        expect(JSON.parse(outcome.body.toString())).toMatchObject({
          method: 'GET',
          body: '',
          contentType: null,
        });
      }
    }
  });

  it('stops at maxRedirects and answers the last redirect', async () => {
    const chain = to(302, to(302, `${server.origin}/landing`));
    const outcome = await client.send({
      ...post,
      method: 'GET',
      body: '',
      url: chain,
      maxRedirects: 1,
    });
    expect(outcome).toMatchObject({ kind: 'response', status: 302, redirects: 1 });
    const followed = await client.send({
      ...post,
      method: 'GET',
      body: '',
      url: chain,
      maxRedirects: 2,
    });
    expect(followed).toMatchObject({ kind: 'response', status: 200, redirects: 2 });
  });

  it('keeps only describing headers when a redirect leaves the origin', async () => {
    const outcome = await client.send({
      ...post,
      headers: [...post.headers, ['X-Api-Key', 'k-123456'], ['Idempotency-Key', 'd-1']],
      url: to(307, `${other.origin}/elsewhere`),
      maxRedirects: 1,
    });
    expect(outcome).toMatchObject({
      kind: 'response',
      status: 200,
      url: `${other.origin}/elsewhere`,
    });
    if (outcome.kind === 'response') {
      expect(JSON.parse(outcome.body.toString())).toMatchObject({
        method: 'POST',
        authorization: null,
        apiKey: null,
        idempotencyKey: 'd-1',
        contentType: 'application/json',
        body: '{"a":1}',
      });
    }
    // The same origin keeps them all.
    const same = await client.send({
      ...post,
      headers: [...post.headers, ['X-Api-Key', 'k-123456']],
      url: to(307, `${server.origin}/here`),
      maxRedirects: 1,
    });
    if (same.kind !== 'response') throw new Error(same.kind);
    expect(JSON.parse(same.body.toString())).toMatchObject({
      authorization: 'Bearer s3cret',
      apiKey: 'k-123456',
    });
  });

  it('answers a redirect it cannot follow (not http or https) as the response', async () => {
    const outcome = await client.send({
      ...post,
      url: to(302, 'ftp://files.example/x'),
      maxRedirects: 3,
    });
    expect(outcome).toMatchObject({ kind: 'response', status: 302, redirects: 0 });
  });

  it.each([
    [
      'the metadata address',
      'http://169.254.169.254/latest/meta-data/',
      'link-local (cloud metadata)',
    ],
    ['a private address', 'http://10.1.2.3:8080/admin', 'private'],
    ['another loopback address', 'http://127.0.0.3:9/', 'loopback'],
    ['IPv6 loopback', 'http://[::1]:9/', 'loopback'],
  ])('refuses a redirect to %s before connecting', async (_name, location, range) => {
    const connect = vi.spyOn(net, 'connect');
    try {
      const outcome = await client.send({ ...post, url: to(302, location), maxRedirects: 3 });
      expect(outcome.kind).toBe('refused');
      if (outcome.kind === 'refused') {
        expect(outcome.reason).toContain(`redirect to ${location}`);
        expect(outcome.reason).toContain(`in the ${range} range`);
      }
      const targets = connect.mock.calls.map(
        ([options]) => (options as unknown as net.TcpNetConnectOpts).host,
      );
      expect(targets.filter((host) => host !== '127.0.0.1')).toEqual([]);
    } finally {
      connect.mockRestore();
    }
  });

  it('counts the whole chain against one deadline', async () => {
    const stall = await startServer(() => undefined, { host: '127.0.0.2' });
    try {
      const outcome = await client.send({
        ...post,
        url: to(307, `${stall.origin}/never`),
        maxRedirects: 1,
        timeoutMs: 300,
      });
      expect(outcome).toMatchObject({ kind: 'timeout', phase: 'headers' });
      if (outcome.kind === 'timeout')
        expect(outcome.message).toContain(`redirect to ${stall.origin}/never`);
    } finally {
      await stall.close();
    }
  });
});
