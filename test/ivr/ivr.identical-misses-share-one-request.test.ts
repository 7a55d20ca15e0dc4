/**
 * With the answer cache on, identical invocations that miss it at the same time share one request
 * to the remote (single-flight) instead of sending one each: 20 callers asking a slow remote the
 * same lookup send it once, and each is logged as its own invocation. Each caller keeps its own
 * deadline (±50 ms): a short one is not stretched by the shared request, and a long one is not
 * cut by the shorter deadline of the caller that started it. Different renders ask separately; a
 * failure is every waiting caller's answer (the remote is asked once, a second try after a
 * connect failure once more); a shared request nobody waits for any more is cancelled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startServer, type TestServer } from '../transport/servers.js';
import { startNodeSoapServer, type NodeSoapServer } from '../soap/soap-servers.js';
import { DIALECTS } from '../helpers/store.js';
import type { InvokeAnswer } from '../../src/api/ivr.routes.js';
import { createIvrTestApp, type IvrTestApp, type IvrUser } from './ivr-app.js';

/** The remote answers after `REMOTE_MS`; `?fail=1` answers 503, `?hang=1` never answers. */
const REMOTE_MS = 600;

describe.each(DIALECTS)('IVR identical cache misses share one request on %s', (backend) => {
  let t: IvrTestApp;
  let server: TestServer;
  let soap: NodeSoapServer;
  let alice: IvrUser;
  const sleeping = new Set<NodeJS.Timeout>();
  const asked: URL[] = [];
  /** Host names the IVR's HTTP client looked up, one per connection it opened to a name. */
  const lookups: string[] = [];
  /** When each `?hang=1` request's connection closed, on the test's clock. */
  const hangClosed: number[] = [];
  /** `?gate=1` requests, answered when the test calls `release`. */
  const held: { res: ServerResponse; account: string | null }[] = [];
  const release = () => {
    for (const { res, account } of held.splice(0)) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ balance: `${account}.00` }));
    }
  };

  beforeAll(async () => {
    t = await createIvrTestApp(backend, undefined, {
      resolve: async (name) => {
        lookups.push(name);
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    alice = await t.user();
    soap = await startNodeSoapServer();
    server = await startServer((req: IncomingMessage, res) => {
      const url = new URL(req.url!, 'http://x');
      asked.push(url);
      if (url.searchParams.has('gate')) {
        held.push({ res, account: url.searchParams.get('account') });
        return;
      }
      if (url.searchParams.has('hang')) {
        res.on('close', () => hangClosed.push(performance.now()));
        return;
      }
      const timer = setTimeout(() => {
        sleeping.delete(timer);
        if (url.searchParams.has('fail')) {
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"busy"}');
          return;
        }
        const account = url.searchParams.get('account');
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ balance: `${account}.00` }));
      }, REMOTE_MS);
      sleeping.add(timer);
    });
  });

  afterAll(async () => {
    for (const timer of sleeping) clearTimeout(timer);
    release();
    await t?.close();
    await server?.close();
    await soap?.close();
  });

  const lookup = (path: string) =>
    t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/${path}?account={{ivr.account}}` },
      options: { cacheTtlSeconds: 60, responseVariables: [{ name: 'balance', path: 'balance' }] },
    });
  const count = (path: string) => asked.filter((url) => url.pathname === `/${path}`).length;
  /** One invocation, with how long the caller waited for it. */
  const timed = async (id: string, payload: object) => {
    const before = performance.now();
    const { answer } = await t.invoke(alice.headers, id, payload);
    return { answer, waited: performance.now() - before };
  };
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const attemptResponse = async (answer: InvokeAnswer) => {
    const { delivery, attempts } = await t.logged(answer.deliveryId);
    expect(attempts).toHaveLength(1);
    const response = attempts[0]!['response'];
    return {
      delivery,
      attempt: attempts[0]!,
      response:
        response === null ? null : (JSON.parse(response as string) as Record<string, unknown>),
    };
  };

  it('sends 20 concurrent identical invocations as one request; each is logged', async () => {
    const id = await lookup('same');
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.invoke(alice.headers, id, { call: { id: `call-${i}` }, variables: { account: '42' } }),
      ),
    );
    expect(count('same')).toBe(1);
    for (const { answer } of answers) {
      expect(answer).toMatchObject({
        outcome: 'success',
        status: 200,
        variables: { balance: '42.00', status: '200', body: '{"balance":"42.00"}' },
      });
    }
    // One invocation asked the remote; the other 19 got its answer, as from the cache.
    const asker = answers.filter(({ answer }) => answer.cached === undefined);
    expect(asker).toHaveLength(1);
    const askerId = asker[0]!.answer.deliveryId;
    const ids = new Set(answers.map(({ answer }) => answer.deliveryId));
    expect(ids.size).toBe(20);
    for (const { answer } of answers) {
      const { delivery, attempt, response } = await attemptResponse(answer);
      expect(delivery).toMatchObject({ kind: 'ivr', status: 'succeeded', last_status: 200 });
      expect(attempt).toMatchObject({ outcome: 'succeeded', error: null });
      expect(JSON.parse(attempt['request'] as string)).toMatchObject({
        url: `${server.origin}/same?account=42`,
      });
      if (answer.deliveryId === askerId) expect(response).not.toHaveProperty('cachedFrom');
      else expect(response).toMatchObject({ status: 200, cachedFrom: askerId });
    }
    // And the answer is in the cache now.
    const later = await t.invoke(alice.headers, id, { variables: { account: '42' } });
    expect(later.answer).toMatchObject({ outcome: 'success', cached: true });
    expect(count('same')).toBe(1);
  });

  it('asks once per different render', async () => {
    const id = await lookup('renders');
    const accounts = ['1', '2', '3', '4', '5'];
    const answers = await Promise.all(
      accounts.flatMap((account) =>
        Array.from({ length: 4 }, () => t.invoke(alice.headers, id, { variables: { account } })),
      ),
    );
    expect(count('renders')).toBe(5);
    expect(
      asked
        .filter((url) => url.pathname === '/renders')
        .map((url) => url.searchParams.get('account'))
        .sort(),
    ).toEqual(accounts);
    answers.forEach(({ answer }, i) => {
      expect(answer.variables['balance']).toBe(`${accounts[Math.floor(i / 4)]}.00`);
    });
  });

  it("holds each caller's deadline: a short one is not stretched, a long one not cut", async () => {
    // The caller that starts the request has the shorter deadline, then the one that joins it.
    const id = await lookup('deadlines');
    const first = timed(id, { variables: { account: '7' }, timeoutMs: 200 });
    await pause(30);
    const joiner = timed(id, { variables: { account: '7' }, timeoutMs: 2_000 });
    const [short, long] = await Promise.all([first, joiner]);
    expect(count('deadlines')).toBe(1);
    expect(short.answer).toMatchObject({
      outcome: 'timeout',
      status: null,
      reason: 'no response within the 200 ms deadline',
      variables: { balance: '', status: '', body: '' },
    });
    expect(short.answer.durationMs).toBeGreaterThanOrEqual(200 - 50);
    expect(short.answer.durationMs).toBeLessThanOrEqual(200 + 50);
    expect(short.waited).toBeLessThanOrEqual(200 + 50);
    // The shared request went on for the caller still waiting: answered after REMOTE_MS.
    expect(long.answer).toMatchObject({
      outcome: 'success',
      cached: true,
      variables: { balance: '7.00' },
    });
    expect(long.waited).toBeGreaterThanOrEqual(REMOTE_MS - 30 - 50);
    // The short caller is logged as a timeout with the request as sent, and the answer that
    // came after its deadline.
    const logged = await attemptResponse(short.answer);
    expect(logged.delivery).toMatchObject({ status: 'failed', last_status: null });
    expect(logged.attempt['error']).toBe('timeout: no response within the 200 ms deadline');
    expect(logged.response).toMatchObject({ status: 200, afterDeadline: true });
    expect(JSON.parse(logged.attempt['request'] as string)).toMatchObject({
      url: `${server.origin}/deadlines?account=7`,
    });

    // The other way round: the caller that starts it waits long, the one that joins briefly.
    const starter = timed(id, { variables: { account: '8' }, timeoutMs: 2_000 });
    await pause(30);
    const brief = timed(id, { variables: { account: '8' }, timeoutMs: 200 });
    const [started, joined] = await Promise.all([starter, brief]);
    expect(count('deadlines')).toBe(2);
    expect(joined.answer.outcome).toBe('timeout');
    expect(joined.answer.durationMs).toBeGreaterThanOrEqual(200 - 50);
    expect(joined.answer.durationMs).toBeLessThanOrEqual(200 + 50);
    expect(joined.waited).toBeLessThanOrEqual(200 + 50);
    expect(started.answer).toMatchObject({ outcome: 'success', variables: { balance: '8.00' } });
    expect(started.answer.cached).toBeUndefined();
  });

  it('logs a caller that timed out waiting with the answer that came after its deadline', async () => {
    // cachedFrom names the invocation whose request an answer was: its line shows that answer,
    // also when its own caller had given up before it came.
    const id = await t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/gated?gate=1&account={{ivr.account}}` },
      options: { cacheTtlSeconds: 60, responseVariables: [{ name: 'balance', path: 'balance' }] },
    });
    const sentSoFar = async (n: number) => {
      for (let i = 0; i < 500 && count('gated') < n; i += 1) await pause(10);
      expect(count('gated')).toBe(n);
    };
    // The caller that sends the request gives up first; the one that joined it gets the answer.
    const starter = t.invoke(alice.headers, id, { variables: { account: '9' }, timeoutMs: 1_500 });
    await sentSoFar(1);
    const joiner = t.invoke(alice.headers, id, { variables: { account: '9' }, timeoutMs: 20_000 });
    const gaveUp = (await starter).answer;
    expect(gaveUp).toMatchObject({ outcome: 'timeout', status: null });
    release();
    const joined = (await joiner).answer;
    expect(joined).toMatchObject({
      outcome: 'success',
      cached: true,
      variables: { balance: '9.00' },
    });
    expect(count('gated')).toBe(1);
    const asker = await attemptResponse(gaveUp);
    expect(asker.delivery).toMatchObject({ status: 'failed', last_status: null });
    expect(asker.attempt['error']).toBe('timeout: no response within the 1500 ms deadline');
    expect(asker.response).toEqual(
      expect.objectContaining({
        status: 200,
        body: '{"balance":"9.00"}',
        ivrOutcome: 'timeout',
        afterDeadline: true,
      }),
    );
    expect(asker.response).not.toHaveProperty('cachedFrom');
    const user = await attemptResponse(joined);
    expect(user.response).toMatchObject({ status: 200, cachedFrom: gaveUp.deliveryId });
    expect(user.response).not.toHaveProperty('afterDeadline');
    // The cache names it too.
    const hit = (await t.invoke(alice.headers, id, { variables: { account: '9' } })).answer;
    expect((await attemptResponse(hit)).response).toMatchObject({ cachedFrom: gaveUp.deliveryId });

    // A caller that joined and gave up is logged with the answer too, naming whose request it was.
    const sender = t.invoke(alice.headers, id, { variables: { account: '10' }, timeoutMs: 20_000 });
    await sentSoFar(2);
    const brief = (
      await t.invoke(alice.headers, id, { variables: { account: '10' }, timeoutMs: 200 })
    ).answer;
    expect(brief.outcome).toBe('timeout');
    release();
    const sent = (await sender).answer;
    expect(sent).toMatchObject({ outcome: 'success', variables: { balance: '10.00' } });
    expect(sent.cached).toBeUndefined();
    const briefLog = await attemptResponse(brief);
    expect(briefLog.attempt['error']).toBe('timeout: no response within the 200 ms deadline');
    expect(briefLog.response).toMatchObject({
      status: 200,
      ivrOutcome: 'timeout',
      afterDeadline: true,
      cachedFrom: sent.deliveryId,
    });
  });

  it('shares a failure with every caller waiting: a failing remote is asked once', async () => {
    const id = await t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/failing?fail=1` },
      options: { cacheTtlSeconds: 60 },
    });
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => t.invoke(alice.headers, id, { timeoutMs: 3_000 })),
    );
    // One request for the four (each asked again for itself after it: 4).
    expect(count('failing')).toBe(1);
    for (const { answer } of answers) {
      expect(answer).toMatchObject({
        outcome: 'failure',
        status: 503,
        reason: 'HTTP 503 is not a success status',
        variables: { status: '503', body: '{"error":"busy"}' },
      });
    }
    // One invocation asked; the others are logged as its answer, naming it.
    const asker = answers.filter(({ answer }) => answer.cached === undefined);
    expect(asker).toHaveLength(1);
    const askerId = asker[0]!.answer.deliveryId;
    for (const { answer } of answers) {
      const { delivery, attempt, response } = await attemptResponse(answer);
      expect(delivery).toMatchObject({ status: 'failed', last_status: 503 });
      expect(attempt['error']).toBe('failure: HTTP 503 is not a success status');
      expect(response).toMatchObject({ status: 503, ivrOutcome: 'failure' });
      if (answer.deliveryId === askerId) expect(response).not.toHaveProperty('cachedFrom');
      else expect(response).toMatchObject({ cachedFrom: askerId });
    }
    // A failure is not cached: an invocation after it asks the remote again.
    const later = await t.invoke(alice.headers, id, { timeoutMs: 3_000 });
    expect(later.answer).toMatchObject({ outcome: 'failure', status: 503 });
    expect(later.answer.cached).toBeUndefined();
    expect(count('failing')).toBe(2);
  });

  it('shares the second try after a connect failure too', async () => {
    // Nothing listens on the port; `refusing.test` is looked up once per connection attempt.
    const closed = await startServer((_req, res) => res.end());
    const port = new URL(closed.origin).port;
    await closed.close();
    const id = await t.create(alice.headers, {
      config: { method: 'GET', url: `http://refusing.test:${port}/balance` },
      options: { cacheTtlSeconds: 60 },
    });
    const before = lookups.length;
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => t.invoke(alice.headers, id, { timeoutMs: 2_000 })),
    );
    for (const { answer } of answers) {
      expect(answer).toMatchObject({ outcome: 'error', status: null });
      expect(answer.reason).toMatch(/ECONNREFUSED/);
    }
    // The shared request, then one shared second try (each caller trying twice for itself: 8).
    expect(lookups.slice(before)).toEqual(['refusing.test', 'refusing.test']);
    const asker = answers.filter(({ answer }) => answer.cached === undefined);
    expect(asker).toHaveLength(1);
  });

  it('cancels the shared request when no caller waits for it any more', async () => {
    const id = await t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/hanging?hang=1` },
      options: { cacheTtlSeconds: 60 },
    });
    const before = performance.now();
    const answers = await Promise.all([
      timed(id, { timeoutMs: 200 }),
      timed(id, { timeoutMs: 300 }),
      timed(id, { timeoutMs: 400 }),
    ]);
    expect(answers.map(({ answer }) => answer.outcome)).toEqual(['timeout', 'timeout', 'timeout']);
    expect(count('hanging')).toBe(1);
    for (let i = 0; i < 100 && hangClosed.length === 0; i += 1) await pause(10);
    // Closed at the last caller's deadline, not at the first's, nor 30 s later.
    expect(hangClosed).toHaveLength(1);
    expect(hangClosed[0]! - before).toBeGreaterThanOrEqual(400 - 50);
    expect(hangClosed[0]! - before).toBeLessThanOrEqual(400 + 100);
  });

  it('shares a SOAP call too, and cancels it when no caller waits any more', async () => {
    const slow = (ms: number) =>
      t.create(alice.headers, {
        type: 'soap',
        config: {
          wsdlUrl: `${soap.base}/dotnet?wsdl`,
          operation: 'Slow',
          service: 'Tickets',
          port: 'TicketsSoap',
          params: [{ name: 'ms', value: String(ms) }],
        },
        options: { cacheTtlSeconds: 60 },
      });
    const slowCalls = () => soap.calls.filter((call) => call.operation === 'Slow').length;
    const shared = await slow(400);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => t.invoke(alice.headers, shared, { timeoutMs: 3_000 })),
    );
    expect(answers.map(({ answer }) => answer.outcome)).toEqual(Array(10).fill('success'));
    expect(slowCalls()).toBe(1);

    // Its only caller gives up at 300 ms: the call is cancelled then, so the caller's log line,
    // written when the shared call ends, comes long before the service's 3 s.
    const hanging = await slow(3_000);
    const before = performance.now();
    const { answer } = await t.invoke(alice.headers, hanging, { timeoutMs: 300 });
    expect(answer).toMatchObject({
      outcome: 'timeout',
      reason: 'no answer within the 300 ms timeout',
    });
    expect(answer.durationMs).toBeLessThanOrEqual(300 + 50);
    const logged = await attemptResponse(answer);
    expect(performance.now() - before).toBeLessThan(1_500);
    expect(logged.attempt['error']).toBe('timeout: no answer within the 300 ms timeout');
    expect(logged.attempt['request']).toContain('<ms>3000</ms>');
  });
});
