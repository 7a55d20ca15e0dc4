/**
 * Every invocation is logged as a delivery of kind `ivr` with its one attempt (request as sent,
 * secrets masked; response; duration; outcome), on SQLite and PostgreSQL, and counted by outcome
 * in the metrics. With `cacheTtlSeconds`, callers whose rendered requests are identical share a
 * success answer within the TTL; a different account, a failure or an expired entry asks again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { startServer, type TestServer } from '../transport/servers.js';
import { IvrAnswerCache } from '../../src/delivery/ivr-answer-cache.js';
import { createIvrTestApp, type IvrTestApp } from './ivr-app.js';

for (const backend of DIALECTS) {
  describe(`IVR invocations on ${backend}`, () => {
    let t: IvrTestApp;
    let server: TestServer;
    let alice: { id: string; headers: { authorization: string } };
    let now = Date.now();
    let fail = false;
    const asked: string[] = [];

    beforeAll(async () => {
      server = await startServer((req, res) => {
        asked.push(req.url!);
        if (req.url!.startsWith('/echo')) {
          // A remote that quotes the request's key back, in a header and in the body.
          const key = String(req.headers['x-api-key']);
          res
            .writeHead(200, { 'content-type': 'application/json', 'x-echo': key })
            .end(JSON.stringify({ youSent: key }));
          return;
        }
        const account = new URL(req.url!, 'http://x').searchParams.get('account');
        if (fail) {
          res.writeHead(503).end('busy');
          return;
        }
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ balance: `${account}.00`, secret: 'not-a-secret' }));
      });
      // The cache reads this test's clock, so the TTL is crossed without waiting.
      t = await createIvrTestApp(
        backend,
        { CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' },
        { cacheClock: () => now },
      );
      alice = await t.user();
    });

    afterAll(async () => {
      await t?.close();
      await server?.close();
    });

    it('masks a secret the remote echoes in the log (variables read it as received); logs numeric ids', async () => {
      const id = await t.create(alice.headers, {
        config: {
          method: 'GET',
          url: `${server.origin}/echo`,
          headers: 'X-Api-Key: key-echoed-987654',
        },
        options: { responseVariables: [{ name: 'sent', path: 'youSent' }] },
      });
      // Numeric ids (as a dialer may send them) are logged as templates render them.
      const { answer } = await t.invoke(alice.headers, id, {
        contact: { id: 5 },
        campaign: { id: 12 },
      });
      expect(answer).toMatchObject({
        outcome: 'success',
        variables: { sent: 'key-echoed-987654', body: '{"youSent":"key-echoed-987654"}' },
      });
      const { delivery, attempts } = await t.logged(answer.deliveryId);
      expect(delivery).toMatchObject({ contact_id: '5', campaign_id: '12' });
      const response = JSON.parse(attempts[0]!['response'] as string) as {
        headers: [string, string][];
        body: string;
      };
      expect(response.body).toBe('{"youSent":"••••"}');
      expect(response.headers).toContainEqual(['x-echo', '••••']);
      expect(JSON.stringify(attempts)).not.toContain('key-echoed-987654');
    });

    it('logs the invocation as an ivr delivery with its attempt, secrets masked', async () => {
      const id = await t.create(alice.headers, {
        config: {
          method: 'POST',
          url: `${server.origin}/lookup?account={{ivr.account}}`,
          headers: 'Content-Type: application/json\nX-Api-Key: key-abcdef-123456',
          body: '{"account": "{{ivr.account}}"}',
        },
        options: { responseVariables: [{ name: 'balance', path: 'balance' }] },
      });
      const { answer } = await t.invoke(alice.headers, id, {
        variables: { account: '77' },
        campaign: { id: 'camp-9', name: 'IVR' },
        contact: { id: 'k-9' },
      });
      expect(answer).toMatchObject({ outcome: 'success', variables: { balance: '77.00' } });
      const { delivery, attempts } = await t.logged(answer.deliveryId);
      expect(delivery).toMatchObject({
        kind: 'ivr',
        owner_id: alice.id,
        integration_id: id,
        status: 'succeeded',
        attempts: 1,
        campaign_id: 'camp-9',
        contact_id: 'k-9',
        event_id: null,
        last_status: 200,
        last_error: null,
        lease_owner: null,
      });
      expect(Number(delivery['completed_at'])).toBeGreaterThan(0);
      expect(attempts).toHaveLength(1);
      const attempt = attempts[0]!;
      expect(attempt).toMatchObject({ attempt: 1, outcome: 'succeeded', error: null });
      expect(Number(attempt['integration_version'])).toBe(1);
      const request = JSON.parse(attempt['request'] as string) as {
        url: string;
        headers: [string, string][];
        body: string;
      };
      expect(request.url).toBe(`${server.origin}/lookup?account=77`);
      expect(request.body).toBe('{"account": "77"}');
      expect(attempt['request']).not.toContain('key-abcdef-123456');
      expect(request.headers).toContainEqual(['X-Api-Key', '••••']);
      const response = JSON.parse(attempt['response'] as string) as Record<string, unknown>;
      expect(response).toMatchObject({
        status: 200,
        body: '{"balance":"77.00","secret":"not-a-secret"}',
        bodyTruncated: false,
        ivrOutcome: 'success',
      });
      // And it shows with the deliveries, marked as IVR.
      const listed = await t.app.inject({
        method: 'GET',
        url: `/api/v1/deliveries?kind=ivr&integrationId=${id}`,
        headers: alice.headers,
      });
      expect(listed.statusCode, listed.body).toBe(200);
      expect(listed.json().items).toEqual([
        expect.objectContaining({ id: answer.deliveryId, kind: 'ivr', status: 'succeeded' }),
      ]);
      const detail = await t.app.inject({
        method: 'GET',
        url: `/api/v1/deliveries/${answer.deliveryId}`,
        headers: alice.headers,
      });
      expect(detail.statusCode, detail.body).toBe(200);
      expect(detail.json().attemptLog).toHaveLength(1);
    });

    it('logs failures with the reason and counts invocations by outcome', async () => {
      const id = await t.create(alice.headers, {
        config: { method: 'GET', url: 'http://169.254.169.254/' },
      });
      const { answer } = await t.invoke(alice.headers, id);
      expect(answer.outcome).toBe('error');
      const { delivery, attempts } = await t.logged(answer.deliveryId);
      expect(delivery).toMatchObject({ kind: 'ivr', status: 'failed', last_status: null });
      expect(delivery['last_error']).toMatch(/refused by the network policy/);
      // What would have gone out is shown; nothing answered.
      expect(attempts[0]).toMatchObject({ outcome: 'failed', response: null });
      expect(JSON.parse(attempts[0]!['request'] as string)).toMatchObject({
        method: 'GET',
        url: 'http://169.254.169.254/',
      });
      expect(attempts[0]!['error']).toMatch(/^error: refused by the network policy/);
      const metrics = await t.services.metrics.registry.getSingleMetricAsString(
        'callhook_ivr_invocations_total',
      );
      expect(metrics).toMatch(/outcome="success"} [1-9]/);
      expect(metrics).toMatch(/outcome="error"} [1-9]/);
    });

    it('shares a success answer between identical requests within the TTL', async () => {
      const id = await t.create(alice.headers, {
        config: {
          method: 'GET',
          url: `${server.origin}/cached?account={{ivr.account}}`,
          // A secret header carrying a token: masked whole in the log, still part of the key.
          headers: 'X-Account: {{ivr.account}}',
        },
        options: { cacheTtlSeconds: 60, responseVariables: [{ name: 'balance', path: 'balance' }] },
      });
      const count = () => asked.filter((url) => url.startsWith('/cached')).length;
      const first = await t.invoke(alice.headers, id, {
        call: { id: 'call-1' },
        variables: { account: '5' },
      });
      expect(first.answer).toMatchObject({ outcome: 'success', variables: { balance: '5.00' } });
      expect(first.answer.cached).toBeUndefined();
      // Another call for the same account: the same request, so the same answer, not re-asked.
      const second = await t.invoke(alice.headers, id, {
        call: { id: 'call-2' },
        variables: { account: '5' },
      });
      expect(second.answer).toMatchObject({
        outcome: 'success',
        status: 200,
        cached: true,
        variables: { balance: '5.00', status: '200' },
      });
      expect(second.answer.deliveryId).not.toBe(first.answer.deliveryId);
      expect(count()).toBe(1);
      const logged = await t.logged(second.answer.deliveryId);
      expect(logged.delivery).toMatchObject({ kind: 'ivr', status: 'succeeded' });
      expect(JSON.parse(logged.attempts[0]!['response'] as string)).toMatchObject({
        cachedFrom: first.answer.deliveryId,
      });

      // Another account renders another request.
      const other = await t.invoke(alice.headers, id, { variables: { account: '6' } });
      expect(other.answer).toMatchObject({ variables: { balance: '6.00' } });
      expect(other.answer.cached).toBeUndefined();
      expect(count()).toBe(2);

      // Past the TTL the remote is asked again; a failure is not kept.
      now += 61_000;
      fail = true;
      const expired = await t.invoke(alice.headers, id, { variables: { account: '5' } });
      expect(expired.answer.outcome).toBe('failure');
      fail = false;
      const again = await t.invoke(alice.headers, id, { variables: { account: '5' } });
      expect(again.answer).toMatchObject({ outcome: 'success', variables: { balance: '5.00' } });
      expect(again.answer.cached).toBeUndefined();
      expect(count()).toBe(4);
    });
  });
}

describe('the IVR answer cache', () => {
  it('keeps the newest answers when the cache is full', () => {
    const cache = new IvrAnswerCache({
      sealer: { seal: (s) => s, open: (s) => s },
      maxEntries: 2,
    });
    const answer = { status: 200, variables: {}, deliveryId: 'd', request: null, response: null };
    cache.set('a', answer, 60);
    cache.set('b', answer, 60);
    cache.set('c', answer, 60);
    expect([cache.get('a'), cache.get('b'), cache.get('c')].map(Boolean)).toEqual([
      false,
      true,
      true,
    ]);
  });
});
