import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';

describe.each(DIALECTS)('health and errors on %s', (backend) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers /healthz and /readyz', async () => {
    t = await createTestApp(backend);
    expect((await t.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
  });

  it('reports not ready when the store is gone', async () => {
    t = await createTestApp(backend);
    await t.store.store.close();
    const ready = await t.app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      error: { code: 'NOT_READY', message: 'The store is not reachable' },
    });
  });
});

describe('the API surface', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers an unknown route with the error body', async () => {
    t = await createTestApp('sqlite');
    const res = await t.app.inject('/api/v1/nothing-here');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: 'ROUTE_NOT_FOUND', message: 'No route GET /api/v1/nothing-here' },
    });
  });

  it('serves an OpenAPI 3.1 document', async () => {
    t = await createTestApp('sqlite');
    const res = await t.app.inject('/api/openapi.json');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ openapi: '3.1.0', info: { title: 'Callhook API' } });
  });
});

describe('metrics', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('serves Prometheus text with the queue gauges read from the store', async () => {
    t = await createTestApp('sqlite');
    const res = await t.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/^callhook_queue_depth 0$/m);
    expect(res.body).toMatch(/^callhook_open_circuits 0$/m);
    expect(res.body).toContain('# TYPE callhook_attempt_duration_seconds histogram');
  });
});
