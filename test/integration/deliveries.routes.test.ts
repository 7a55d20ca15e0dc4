import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { ReplayRunner } from '../../src/queue/replay-runner.js';

describe.each(DIALECTS)('the delivery log, retry, cancel and replay on %s', (backend) => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });
  const get = (url: string) => p!.t.app.inject({ url, headers: p!.dialer.headers });

  it('lists a failed delivery with its attempt, retries it after the remote is fixed', async () => {
    p = await createPipeline(backend, { integrationOptions: { retry: { maxAttempts: 1 } } });
    p.respond = (res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('database down');
    await p.post('/api/v1/events', callEvent('ev-1'));
    await p.worker().runOnce();

    const failed = (await get('/api/v1/deliveries?status=failed')).json();
    expect(failed.items).toHaveLength(1);
    const [delivery] = failed.items;
    expect(delivery).toMatchObject({
      eventId: 'ev-1',
      integrationId: p.integrationId,
      status: 'failed',
      attempts: 1,
      lastStatus: 500,
    });
    const detail = (await get(`/api/v1/deliveries/${delivery.id}`)).json();
    expect(detail.attemptLog).toHaveLength(1);
    expect(detail.attemptLog[0]).toMatchObject({
      attempt: 1,
      integrationVersion: 1,
      outcome: 'failed',
      response: { status: 500, body: 'database down' },
      request: { method: 'POST' },
    });

    p.respond = (res) => res.writeHead(200).end('ok');
    const retried = await p.post(`/api/v1/deliveries/${delivery.id}/retry`, {});
    expect(retried.statusCode, retried.body).toBe(202);
    expect(retried.json()).toMatchObject({ status: 'pending' });
    await p.worker().runOnce();
    const after = (await get(`/api/v1/deliveries/${delivery.id}`)).json();
    expect(after).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(after.attemptLog.map((a: { outcome: string }) => a.outcome)).toEqual([
      'failed',
      'succeeded',
    ]);
    // Same Idempotency-Key on both attempts.
    expect(p.received.map((r) => r.headers['idempotency-key'])).toEqual([delivery.id, delivery.id]);
    const again = await p.post(`/api/v1/deliveries/${delivery.id}/retry`, {});
    expect(again.statusCode).toBe(409);
  });

  it('refuses to retry a failed delivery of a deleted integration (nothing would send it)', async () => {
    p = await createPipeline(backend, { integrationOptions: { retry: { maxAttempts: 1 } } });
    p.respond = (res) => res.writeHead(500).end('down');
    await p.post('/api/v1/events', callEvent('ev-gone'));
    await p.worker().runOnce();
    const [delivery] = (await get('/api/v1/deliveries?status=failed')).json().items;
    const deleted = await p.t.app.inject({
      method: 'DELETE',
      url: `/api/v1/integrations/${p.integrationId}`,
      headers: p.dialer.headers,
    });
    expect(deleted.statusCode).toBe(204);

    const retried = await p.post(`/api/v1/deliveries/${delivery.id}/retry`, {});
    expect(retried.statusCode).toBe(409);
    expect(retried.json().error.message).toBe(
      `delivery ${delivery.id} belongs to a deleted integration: nothing would send it`,
    );
    expect((await get(`/api/v1/deliveries/${delivery.id}`)).json()).toMatchObject({
      status: 'failed',
    });
  });

  it('replays every failed delivery since a time, rendered with the fixed integration', async () => {
    p = await createPipeline(backend, { integrationOptions: { retry: { maxAttempts: 1 } } });
    p.respond = (res, req) => res.writeHead(req.url.startsWith('/fixed') ? 200 : 404).end();
    await p.post('/api/v1/events', { events: [callEvent('a'), callEvent('b'), callEvent('c')] });
    await p.worker().runOnce();
    expect((await get('/api/v1/deliveries?status=failed')).json().items).toHaveLength(3);

    const fix = await p.t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${p.integrationId}`,
      headers: p.dialer.headers,
      payload: { config: { url: `${p.server.origin}/fixed?phone={{contact.phone}}` } },
    });
    expect(fix.statusCode).toBe(200);
    const bad = await p.post(`/api/v1/integrations/${p.integrationId}/replay`, {
      since: 'last week',
    });
    expect(bad.statusCode).toBe(400);
    // Date.parse reads this as 2026-03-02: refused, not replayed from a day nobody asked for.
    const impossible = await p.post(`/api/v1/integrations/${p.integrationId}/replay`, {
      since: '2026-02-30T00:00:00Z',
    });
    expect(impossible.statusCode, impossible.body).toBe(400);
    expect(impossible.json().error.details).toEqual([
      { field: 'body.since', message: 'has no day 30 in 2026-02: that month has 28 days' },
    ]);
    const replay = await p.post(`/api/v1/integrations/${p.integrationId}/replay`, {
      since: '2020-01-01T00:00:00Z',
    });
    expect(replay.statusCode, replay.body).toBe(202);
    const job = replay.json();
    expect(job).toMatchObject({
      integrationId: p.integrationId,
      since: '2020-01-01T00:00:00.000Z',
      status: 'running',
      total: 3,
      requeued: 0,
      finishedAt: null,
    });
    // A worker process runs the job, here two deliveries per batch.
    const progress: number[] = [];
    await new ReplayRunner(p.t.store.store, { batchSize: 2 }).runOnce({
      onProgress: (view) => progress.push(view.requeued),
    });
    expect(progress).toEqual([2, 3]);
    const read = (await get(`/api/v1/integrations/${p.integrationId}/replay/${job.id}`)).json();
    expect(read).toMatchObject({ id: job.id, status: 'succeeded', total: 3, requeued: 3 });
    expect(read.finishedAt).not.toBeNull();
    const listed = (await get(`/api/v1/integrations/${p.integrationId}/replay?limit=1`)).json();
    expect(listed).toEqual({ items: [read], nextCursor: null });
    await p.worker().runOnce();
    const items = (await get('/api/v1/deliveries')).json().items as {
      status: string;
      id: string;
    }[];
    expect(items.map((i) => i.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const log = (await get(`/api/v1/deliveries/${items[0]!.id}`)).json().attemptLog as {
      integrationVersion: number;
    }[];
    expect(log.map((a) => a.integrationVersion)).toEqual([1, 2]);
  });

  it('sends with the version saved a moment ago, not the one the worker read just before', async () => {
    p = await createPipeline(backend, { integrationOptions: { retry: { maxAttempts: 1 } } });
    p.respond = (res, req) => res.writeHead(req.url.startsWith('/fixed') ? 200 : 404).end();
    const worker = p.worker();
    await p.post('/api/v1/events', callEvent('before'));
    await worker.runOnce();
    const [failed] = (await get('/api/v1/deliveries?status=failed')).json().items;
    expect(failed).toMatchObject({ eventId: 'before', lastStatus: 404 });

    // Fixed and retried at once, and a new event: the same worker, within its moment of
    // caching the integration, renders both with the fix.
    const fix = await p.t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${p.integrationId}`,
      headers: p.dialer.headers,
      payload: { config: { url: `${p.server.origin}/fixed?phone={{contact.phone}}` } },
    });
    expect(fix.statusCode, fix.body).toBe(200);
    expect((await p.post(`/api/v1/deliveries/${failed.id}/retry`, {})).statusCode).toBe(202);
    await p.post('/api/v1/events', callEvent('after'));
    expect(await worker.runOnce()).toBe(2);
    await worker.stop();

    const items = (await get('/api/v1/deliveries')).json().items as {
      id: string;
      eventId: string;
      status: string;
    }[];
    expect(items.map((i) => [i.eventId, i.status])).toEqual([
      ['after', 'succeeded'],
      ['before', 'succeeded'],
    ]);
    const log = (await get(`/api/v1/deliveries/${failed.id}`)).json().attemptLog as {
      integrationVersion: number;
    }[];
    expect(log.map((a) => a.integrationVersion)).toEqual([1, 2]);
  });

  it("shows an integration's health: its circuit opened by failures, what waits, the probe", async () => {
    p = await createPipeline(backend, { integrationOptions: { retry: { maxAttempts: 3 } } });
    const health = async () => {
      const res = await get(`/api/v1/integrations/${p!.integrationId}/health`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };
    expect(await health()).toEqual({
      circuit: 'closed',
      probeAt: null,
      consecutiveFailures: 0,
      failingSince: null,
      hold: null,
      pending: 0,
      inFlight: 0,
    });
    p.respond = (res) => res.writeHead(503).end('down');
    for (let i = 0; i < 6; i++) await p.post('/api/v1/events', callEvent(`ev-${i}`));
    const before = Date.now();
    expect(await p.worker().runOnce()).toBe(6);
    const open = await health();
    // The circuit opened at the fifth failure; all six wait for their retry.
    expect(open).toMatchObject({
      circuit: 'open',
      consecutiveFailures: 6,
      hold: { reason: 'circuit' },
      pending: 6,
      inFlight: 0,
    });
    const probeAt = Date.parse(open.probeAt);
    expect(probeAt).toBeGreaterThanOrEqual(before + 30_000);
    expect(probeAt).toBeLessThanOrEqual(Date.now() + 30_000);
    expect(open.hold.until).toBe(open.probeAt);
    expect(Date.parse(open.failingSince)).toBeGreaterThanOrEqual(before);
    // Once the cool-down is over, the next claim takes a probe.
    await p.t.store.store.db
      .updateTable('delivery_lanes')
      .set({ circuit_until: before, hold_until: before })
      .where('integration_id', '=', p.integrationId)
      .execute();
    expect(await health()).toMatchObject({ circuit: 'half-open', probeAt: null, hold: null });
  });

  it("lists an integration's replay jobs newest first; another user's are 404", async () => {
    p = await createPipeline(backend);
    const url = `/api/v1/integrations/${p.integrationId}/replay`;
    const first = (await p.post(url, { since: '2026-01-01T00:00:00Z' })).json();
    const second = (await p.post(url, { since: '2026-02-01T00:00:00+01:00' })).json();
    expect(second).toMatchObject({ since: '2026-01-31T23:00:00.000Z', total: 0 });
    const page = (await get(`${url}?limit=1`)).json();
    expect(page.items.map((job: { id: string }) => job.id)).toEqual([second.id]);
    expect(page.nextCursor).toEqual(expect.any(String));
    const next = (await get(`${url}?limit=1&cursor=${page.nextCursor}`)).json();
    expect(next.items.map((job: { id: string }) => job.id)).toEqual([first.id]);
    expect((await get(`${url}/nope`)).statusCode).toBe(404);

    const bob = await p.t.user({ grants: ['integration'] });
    const asBob = (path: string, method: 'GET' | 'POST' = 'GET') =>
      p!.t.app.inject({
        method,
        url: path,
        headers: bob.headers,
        ...(method === 'POST' ? { payload: { since: '2026-01-01T00:00:00Z' } } : {}),
      });
    for (const [path, method] of [
      [url, 'POST'],
      [url, 'GET'],
      [`${url}/${first.id}`, 'GET'],
    ] as const) {
      const answer = await asBob(path, method);
      expect(answer.statusCode, `${method} ${path}`).toBe(404);
      expect(answer.json().error.code).toBe('NOT_FOUND');
    }
  });

  it("cancels a running replay job: its worker stops after the batch under way; a finished job is 409, another user's 404", async () => {
    p = await createPipeline(backend, { integrationOptions: { retry: { maxAttempts: 1 } } });
    p.respond = (res) => res.writeHead(404).end();
    await p.post('/api/v1/events', { events: [callEvent('a'), callEvent('b'), callEvent('c')] });
    await p.worker().runOnce();
    const url = `/api/v1/integrations/${p.integrationId}/replay`;
    const job = (await p.post(url, { since: '2020-01-01T00:00:00Z' })).json();
    expect(job).toMatchObject({ status: 'running', total: 3 });
    // A worker has run one batch of two and holds the job.
    const worker = new ReplayRunner(p.t.store.store, { id: 'w1', batchSize: 2 });
    expect(await worker.runOnce({ batches: 1 })).toMatchObject({ requeued: 2 });

    const bob = await p.t.user({ grants: ['integration'] });
    const bobsIntegration = (
      await p.post(
        '/api/v1/integrations',
        { name: 'bob hook', type: 'http', config: { url: `${p.server.origin}/bob` } },
        bob,
      )
    ).json();
    for (const path of [
      `${url}/${job.id}/cancel`,
      // Alice's job under Bob's own integration.
      `/api/v1/integrations/${bobsIntegration.id}/replay/${job.id}/cancel`,
    ]) {
      const answer = await p.post(path, {}, bob);
      expect(answer.statusCode, path).toBe(404);
      expect(answer.json().error.code).toBe('NOT_FOUND');
    }
    expect((await p.post(`${url}/nope/cancel`, {})).statusCode).toBe(404);

    const cancelled = await p.post(`${url}/${job.id}/cancel`, {});
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json()).toMatchObject({
      id: job.id,
      status: 'cancelled',
      total: 3,
      requeued: 2,
      error: null,
    });
    expect(cancelled.json().finishedAt).not.toBeNull();
    // The worker finds it cancelled before its next batch: the third delivery stays failed.
    expect(await worker.runOnce({ jobId: job.id })).toBeUndefined();
    expect((await get(`${url}/${job.id}`)).json()).toMatchObject({
      status: 'cancelled',
      requeued: 2,
    });
    const statuses = (await get('/api/v1/deliveries'))
      .json()
      .items.map((d: { status: string }) => d.status);
    expect(statuses.sort()).toEqual(['failed', 'pending', 'pending']);

    const again = await p.post(`${url}/${job.id}/cancel`, {});
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({
      code: 'CONFLICT',
      message: `Replay job ${job.id} has already ended (status cancelled): only a running job can be cancelled`,
    });
    const none = (await p.post(url, { since: '2099-01-01T00:00:00Z' })).json();
    await new ReplayRunner(p.t.store.store).runOnce({ jobId: none.id });
    const finished = await p.post(`${url}/${none.id}/cancel`, {});
    expect(finished.statusCode).toBe(409);
    expect(finished.json().error.message).toBe(
      `Replay job ${none.id} has already ended (status succeeded): only a running job can be cancelled`,
    );
  });

  it('cancels a pending delivery; another user sees none of it', async () => {
    p = await createPipeline(backend);
    await p.post('/api/v1/events', callEvent('x'));
    const [delivery] = (await get('/api/v1/deliveries')).json().items;
    const bob = await p.t.user({ grants: ['integration'] });
    const asBob = (url: string, method: 'GET' | 'POST' = 'GET') =>
      p!.t.app.inject({ method, url, headers: bob.headers });
    expect((await asBob(`/api/v1/deliveries/${delivery.id}`)).statusCode).toBe(404);
    expect((await asBob(`/api/v1/deliveries/${delivery.id}/cancel`, 'POST')).statusCode).toBe(404);
    expect((await asBob('/api/v1/deliveries')).json().items).toEqual([]);

    const cancelled = await p.post(`/api/v1/deliveries/${delivery.id}/cancel`, {});
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
    expect(await p.worker().runOnce()).toBe(0);
    expect(p.received).toEqual([]);
    expect((await p.post(`/api/v1/deliveries/${delivery.id}/cancel`, {})).statusCode).toBe(409);
  });

  it('logs the first 64 KiB of a longer answer, says it was cut, and ends it at a whole character', async () => {
    p = await createPipeline(backend);
    // 1 + 2 × 50,000 bytes: the 64 KiB cut falls inside the 32,768th `é`.
    const answer = `x${'é'.repeat(50_000)}`;
    p.respond = (res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(answer);
    await p.post('/api/v1/events', callEvent('ev-long'));
    await p.worker().runOnce();

    const [delivery] = (await get('/api/v1/deliveries')).json().items;
    const detail = (await get(`/api/v1/deliveries/${delivery.id}`)).json();
    const { response } = detail.attemptLog[0];
    expect(response).toMatchObject({ status: 200, bodyTruncated: true });
    expect(response.body).toBe(`x${'é'.repeat(32_767)}`);
  });

  it('masks a secret the remote echoes back, in the attempt log and the test answer', async () => {
    p = await createPipeline(backend);
    const patched = await p.t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${p.integrationId}`,
      headers: p.dialer.headers,
      payload: {
        config: { headers: 'Content-Type: application/json\nX-Api-Key: key-echoed-4242' },
      },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    p.respond = (res, request) => {
      const key = String(request.headers['x-api-key']);
      res.writeHead(400, { 'x-echo': key }).end(`unknown key ${key}`);
    };
    await p.post('/api/v1/events', callEvent('ev-echo'));
    await p.worker().runOnce();

    const [delivery] = (await get('/api/v1/deliveries')).json().items;
    const detail = await get(`/api/v1/deliveries/${delivery.id}`);
    const { response } = detail.json().attemptLog[0];
    expect(response).toMatchObject({ status: 400, body: 'unknown key ••••' });
    expect(response.headers).toContainEqual(['x-echo', '••••']);
    expect(detail.body).not.toContain('key-echoed-4242');
    const tested = await p.post(`/api/v1/integrations/${p.integrationId}/test`, { send: true });
    expect(tested.json().response).toMatchObject({ body: 'unknown key ••••' });
    expect(tested.body).not.toContain('key-echoed-4242');
  });

  it('masks the credentials of an Authorization header, and a cookie, that the remote quotes alone', async () => {
    p = await createPipeline(backend);
    const signing = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
    const basic = Buffer.from('crm-user:basic-pass-777').toString('base64');
    const patched = await p.t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${p.integrationId}`,
      headers: p.dialer.headers,
      payload: {
        config: {
          headers:
            'Content-Type: application/json\nAuthorization: Bearer tok-echoed-5151\n' +
            `Proxy-Authorization: Basic ${basic}\nCookie: theme=dark; session=sess-cookie-9090`,
        },
        options: { signing: { secret: signing } },
      },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    p.respond = (res, request) => {
      const token = String(request.headers.authorization).split(' ')[1];
      const [, encoded] = String(request.headers['proxy-authorization']).split(' ');
      const password = Buffer.from(encoded!, 'base64').toString().split(':')[1];
      const session = /session=([^;]+)/.exec(String(request.headers.cookie))![1];
      res
        .writeHead(401, { 'x-token': token! })
        .end(
          `token ${token} refused; password ${password}; key ${signing.slice(6)}; session ${session}`,
        );
    };
    await p.post('/api/v1/events', callEvent('ev-bearer'));
    await p.worker().runOnce();

    const [delivery] = (await get('/api/v1/deliveries')).json().items;
    const detail = await get(`/api/v1/deliveries/${delivery.id}`);
    const { response } = detail.json().attemptLog[0];
    expect(response).toMatchObject({
      status: 401,
      body: 'token •••• refused; password ••••; key ••••; session ••••',
    });
    expect(response.headers).toContainEqual(['x-token', '••••']);
    for (const secret of [
      'tok-echoed-5151',
      'basic-pass-777',
      signing.slice(6),
      'sess-cookie-9090',
    ]) {
      expect(detail.body).not.toContain(secret);
    }
    const tested = await p.post(`/api/v1/integrations/${p.integrationId}/test`, { send: true });
    expect(tested.json().response).toMatchObject({
      body: 'token •••• refused; password ••••; key ••••; session ••••',
    });
    expect(tested.body).not.toContain('tok-echoed-5151');
  });

  it('counts deliveries by integration and outcome, and attempt durations by type, on /metrics', async () => {
    p = await createPipeline(backend, { integrationOptions: { retry: { maxAttempts: 1 } } });
    p.respond = (res, req) => res.writeHead(req.body.includes('busy') ? 500 : 200).end();
    await p.post('/api/v1/events', {
      events: [callEvent('ok'), callEvent('no', { call: { id: 'c-no', status: 'busy' } })],
    });
    expect(await p.worker().runOnce()).toBe(2);

    const metrics = (await p.t.app.inject('/metrics')).body;
    const id = p.integrationId;
    expect(metrics).toContain(
      `callhook_deliveries_total{integration="${id}",outcome="succeeded"} 1`,
    );
    expect(metrics).toContain(`callhook_deliveries_total{integration="${id}",outcome="failed"} 1`);
    expect(metrics).toMatch(/^callhook_attempt_duration_seconds_count\{type="http"\} 2$/m);
  });
});
