import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/transport/http-client.js';
import { policyOpening, startServer, type TestServer } from './servers.js';

const open: { client?: HttpClient; server?: TestServer } = {};

afterEach(async () => {
  await open.client?.close();
  await open.server?.close();
  delete open.client;
  delete open.server;
});

async function serve(
  handler: http.RequestListener,
): Promise<{ client: HttpClient; origin: string }> {
  open.server = await startServer(handler);
  open.client = new HttpClient({ policy: policyOpening('127.0.0.0/8') });
  return { client: open.client, origin: open.server.origin };
}

describe('HttpClient turns a remote failure into an outcome', () => {
  it('a server that never answers times out at the deadline', async () => {
    const { client, origin } = await serve(() => undefined);
    const outcome = await client.send({
      method: 'POST',
      url: origin,
      headers: [],
      body: '{}',
      timeoutMs: 300,
    });
    expect(outcome).toMatchObject({ kind: 'timeout', phase: 'headers' });
    if (outcome.kind !== 'timeout') return;
    expect(outcome.message).toBe('no response within the 300 ms deadline');
    expect(outcome.durationMs).toBeGreaterThanOrEqual(295);
    expect(outcome.durationMs).toBeLessThan(1_500);
  });

  it('a body that stops half way times out at the deadline, counting the whole request', async () => {
    const { client, origin } = await serve((_request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('x'.repeat(100));
    });
    const outcome = await client.send({ method: 'GET', url: origin, headers: [], timeoutMs: 300 });
    expect(outcome).toMatchObject({
      kind: 'timeout',
      phase: 'body',
      message: 'the response body was not complete within the 300 ms deadline',
    });
    if (outcome.kind === 'timeout') expect(outcome.durationMs).toBeLessThan(1_500);
  });

  it('names the stated deadline when the request was given what was left of a longer one', async () => {
    const { client, origin } = await serve(() => undefined);
    const outcome = await client.send({
      method: 'GET',
      url: origin,
      headers: [],
      timeoutMs: 120,
      statedTimeoutMs: 300,
    });
    expect(outcome).toMatchObject({
      kind: 'timeout',
      message: 'no response within the 300 ms deadline',
    });
    if (outcome.kind === 'timeout') expect(outcome.durationMs).toBeLessThan(1_000);
  });

  it('a request still queued for a busy connection times out at its own deadline', async () => {
    open.server = await startServer(() => undefined);
    const client = (open.client = new HttpClient({
      policy: policyOpening('127.0.0.0/8'),
      connectionsPerOrigin: 1,
    }));
    const busy = client.send({
      method: 'GET',
      url: open.server.origin,
      headers: [],
      timeoutMs: 1_000,
    });
    const queued = await client.send({
      method: 'GET',
      url: open.server.origin,
      headers: [],
      timeoutMs: 200,
    });
    expect(queued).toMatchObject({ kind: 'timeout', phase: 'headers' });
    if (queued.kind === 'timeout') expect(queued.durationMs).toBeLessThan(900);
    expect(await busy).toMatchObject({ kind: 'timeout' });
  });

  it('a server that closes the connection mid-body is a network error', async () => {
    const { client, origin } = await serve((_request, response) => {
      response.writeHead(200, { 'content-length': '100000' });
      response.write('x'.repeat(1000), () => response.socket?.destroy());
    });
    const outcome = await client.send({
      method: 'GET',
      url: origin,
      headers: [],
      timeoutMs: 5_000,
    });
    expect(outcome).toMatchObject({ kind: 'network-error', code: 'UND_ERR_SOCKET' });
  });

  it('a server that closes the connection without answering is a network error', async () => {
    const { client, origin } = await serve((request) => request.socket.destroy());
    const outcome = await client.send({
      method: 'GET',
      url: origin,
      headers: [],
      timeoutMs: 5_000,
    });
    expect(outcome).toMatchObject({ kind: 'network-error', code: 'UND_ERR_SOCKET' });
    if (outcome.kind === 'network-error') expect(outcome.message).toMatch(/closed/);
  });

  it('a closed port is a network error ECONNREFUSED', async () => {
    const gone = await startServer(() => undefined);
    await gone.close();
    const client = (open.client = new HttpClient({ policy: policyOpening('127.0.0.0/8') }));
    const outcome = await client.send({
      method: 'GET',
      url: gone.origin,
      headers: [],
      timeoutMs: 5_000,
    });
    expect(outcome).toMatchObject({ kind: 'network-error', code: 'ECONNREFUSED' });
  });

  it('a name that does not resolve is a network error ENOTFOUND', async () => {
    const client = (open.client = new HttpClient({
      policy: policyOpening('127.0.0.0/8'),
      resolve: () =>
        Promise.reject(
          Object.assign(new Error('getaddrinfo ENOTFOUND crm.invalid'), { code: 'ENOTFOUND' }),
        ),
    }));
    const outcome = await client.send({
      method: 'GET',
      url: 'http://crm.invalid/',
      headers: [],
      timeoutMs: 5_000,
    });
    expect(outcome).toMatchObject({
      kind: 'network-error',
      code: 'ENOTFOUND',
      message: 'getaddrinfo ENOTFOUND crm.invalid',
    });
  });

  it('a cancelled request answers ABORTED at once', async () => {
    const { client, origin } = await serve(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const outcome = await client.send(
      { method: 'GET', url: origin, headers: [], timeoutMs: 10_000 },
      { signal: controller.signal },
    );
    expect(outcome).toMatchObject({ kind: 'network-error', code: 'ABORTED' });
    if (outcome.kind === 'network-error') expect(outcome.durationMs).toBeLessThan(2_000);
  });
});
