/**
 * What an IVR gets when the remote is slow, absent or not allowed, and who may invoke: a server
 * that sleeps past the deadline gives `timeout` at the deadline (±50 ms), HTTP and SOAP alike; a
 * destination the network policy refuses gives `error` with the reason; a closed port gives
 * `error` after one more try; a disabled integration gives `error` without sending; another
 * user's integration is 404; a bad body is 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../transport/servers.js';
import { startNodeSoapServer, type NodeSoapServer } from '../soap/soap-servers.js';
import { DIALECTS } from '../helpers/store.js';
import { createIvrTestApp, type IvrTestApp } from './ivr-app.js';

describe.each(DIALECTS)('IVR invoke under a deadline, and its failures on %s', (backend) => {
  let t: IvrTestApp;
  let server: TestServer;
  let soap: NodeSoapServer;
  let alice: { id: string; headers: { authorization: string } };
  let bob: { id: string; headers: { authorization: string } };
  const sleeping = new Set<NodeJS.Timeout>();
  let hits = 0;

  beforeAll(async () => {
    t = await createIvrTestApp(backend);
    alice = await t.user();
    bob = await t.user();
    soap = await startNodeSoapServer();
    server = await startServer((req, res) => {
      hits += 1;
      const ms = Number(new URL(req.url!, 'http://x').searchParams.get('sleep') ?? 0);
      const timer = setTimeout(() => {
        sleeping.delete(timer);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"late": true}');
      }, ms);
      sleeping.add(timer);
    });
  });

  afterAll(async () => {
    for (const timer of sleeping) clearTimeout(timer);
    await t?.close();
    await server?.close();
    await soap?.close();
  });

  const sleeper = (sleepMs: number, options: object = {}) =>
    t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/slow?sleep=${sleepMs}` },
      options: { responseVariables: [{ name: 'late', path: 'late', default: 'no' }], ...options },
    });

  it('answers timeout at the deadline the request asks for (±50 ms)', async () => {
    const id = await sleeper(2_000);
    const before = performance.now();
    const { statusCode, answer } = await t.invoke(alice.headers, id, { timeoutMs: 300 });
    const waited = performance.now() - before;
    expect(statusCode).toBe(200);
    expect(answer).toMatchObject({
      outcome: 'timeout',
      status: null,
      variables: { late: 'no', status: '', body: '' },
    });
    expect(answer.reason).toBe('no response within the 300 ms deadline');
    expect(answer.durationMs).toBeGreaterThanOrEqual(300 - 50);
    expect(answer.durationMs).toBeLessThanOrEqual(300 + 50);
    expect(waited).toBeLessThanOrEqual(300 + 50);
  });

  it("uses the integration's timeoutMs when shorter than 3 s, and at most 3 s otherwise", async () => {
    const short = await sleeper(2_000, { timeoutMs: 200 });
    const { answer } = await t.invoke(alice.headers, short);
    expect(answer.outcome).toBe('timeout');
    expect(answer.durationMs).toBeGreaterThanOrEqual(150);
    expect(answer.durationMs).toBeLessThanOrEqual(250);

    const long = await sleeper(3_400, { timeoutMs: 10_000 });
    const capped = await t.invoke(alice.headers, long);
    expect(capped.answer.outcome).toBe('timeout');
    expect(capped.answer.durationMs).toBeGreaterThanOrEqual(3_000 - 50);
    expect(capped.answer.durationMs).toBeLessThanOrEqual(3_000 + 50);
  });

  it('answers success when the remote answers within the deadline', async () => {
    const id = await sleeper(50);
    const { answer } = await t.invoke(alice.headers, id, { timeoutMs: 1_000 });
    expect(answer).toMatchObject({ outcome: 'success', variables: { late: 'true' } });
  });

  it('answers timeout at the deadline for a slow SOAP service too', async () => {
    const id = await t.create(alice.headers, {
      type: 'soap',
      config: {
        wsdlUrl: `${soap.base}/dotnet?wsdl`,
        operation: 'Slow',
        service: 'Tickets',
        port: 'TicketsSoap',
        params: [{ name: 'ms', value: '2000' }],
      },
    });
    // Load the WSDL first, so the deadline below is the call's alone.
    await t.invoke(alice.headers, id, { timeoutMs: 100 });
    const { answer } = await t.invoke(alice.headers, id, { timeoutMs: 400 });
    expect(answer.outcome).toBe('timeout');
    expect(answer.reason).toBe('no answer within the 400 ms timeout');
    expect(answer.durationMs).toBeGreaterThanOrEqual(400 - 50);
    expect(answer.durationMs).toBeLessThanOrEqual(400 + 50);
  });

  it('answers error with the reason for a destination the network policy refuses', async () => {
    const id = await t.create(alice.headers, {
      config: { method: 'GET', url: 'http://169.254.169.254/latest/meta-data/' },
      options: { responseVariables: [{ name: 'x', path: 'x', default: 'fallback' }] },
    });
    const { statusCode, answer } = await t.invoke(alice.headers, id);
    expect(statusCode).toBe(200);
    expect(answer).toMatchObject({
      outcome: 'error',
      status: null,
      variables: { x: 'fallback', status: '', body: '' },
    });
    expect(answer.reason).toMatch(/refused by the network policy: .*169\.254\.169\.254/);
  });

  it('answers error after one more try when nothing listens on the port', async () => {
    const closed = await startServer((_req, res) => res.end());
    const origin = closed.origin;
    await closed.close();
    const id = await t.create(alice.headers, {
      config: { method: 'GET', url: `${origin}/balance` },
    });
    const { answer } = await t.invoke(alice.headers, id, { timeoutMs: 1_000 });
    expect(answer.outcome).toBe('error');
    expect(answer.reason).toMatch(/ECONNREFUSED/);
    const logged = await t.logged(answer.deliveryId);
    expect(logged.delivery).toMatchObject({ kind: 'ivr', status: 'failed', attempts: 1 });
  });

  it('answers error without sending for a disabled integration', async () => {
    const before = hits;
    const id = await t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/slow?sleep=0` },
      options: { responseVariables: [{ name: 'late', path: 'late', default: 'no' }] },
      enabled: false,
    });
    const { statusCode, answer } = await t.invoke(alice.headers, id);
    expect(statusCode).toBe(200);
    expect(answer).toMatchObject({
      outcome: 'error',
      reason: 'the integration is disabled',
      status: null,
      variables: { late: 'no' },
    });
    expect(hits).toBe(before);
  });

  it('takes no body at all as an invocation with nothing to pass', async () => {
    const id = await sleeper(0);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/integrations/${id}/invoke`,
      headers: alice.headers,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ outcome: 'success', variables: { late: 'true' } });
  });

  it("answers 404 for another user's integration and 400 for a bad body", async () => {
    const id = await sleeper(0);
    const other = await t.invoke(bob.headers, id);
    expect(other.statusCode).toBe(404);
    expect(other.answer).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const bad = await t.invoke(alice.headers, id, { timeoutMs: 10, calls: {} });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/timeoutMs/);
    expect(bad.body).toMatch(/calls/);
  });
});
