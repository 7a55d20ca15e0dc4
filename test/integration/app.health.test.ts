import net from 'node:net';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import Fastify from 'fastify';
import { sql } from 'kysely';
import type { Response as LightMyRequestResponse } from 'light-my-request';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { healthRoutes, READY_TIMEOUT_MS } from '../../src/api/health.routes.js';
import { Metrics } from '../../src/metrics.js';
import { openStore } from '../../src/store/db.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { DIALECTS, TEST_DATABASE_URL } from '../helpers/store.js';

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
    t = await createTestApp(backend, { captureLogs: true });
    await t.store.store.close();
    const ready = await t.app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      error: { code: 'NOT_READY', message: 'The store is not reachable' },
    });
    // The probe's warning is logged; its request lines are not (below).
    expect(t.logs.map((l) => JSON.parse(l).msg)).toContain('store not reachable');
  });

  it('logs no request lines for the probes and the scrape, as it does for the API', async () => {
    t = await createTestApp(backend, { captureLogs: true });
    t.logs.length = 0; // the start-up's own lines
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      expect((await t.app.inject(url)).statusCode, url).toBe(200);
    }
    expect(t.logs).toEqual([]);
    await t.app.inject('/api/v1/me');
    expect(t.logs.map((l) => JSON.parse(l).msg)).toEqual(['incoming request', 'request completed']);
  });
});

describe('a PostgreSQL server that accepts connections and never answers', () => {
  it('is reported not ready within the readiness deadline, not after a hang', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const store = await openStore(
      { kind: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/test` },
      // Opened before the server stops answering, as in a running service.
      { lazy: true },
    );
    const app = Fastify();
    await app.register(healthRoutes, { store, metrics: new Metrics() });
    try {
      const started = performance.now();
      const ready = await app.inject('/readyz');
      expect(ready.statusCode).toBe(503);
      expect(performance.now() - started).toBeLessThan(READY_TIMEOUT_MS + 1_000);
    } finally {
      await app.close();
      for (const socket of sockets) socket.destroy();
      await store.close();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('the API while the database does not answer', () => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  /** The answer a client gets: 503 STORE_UNAVAILABLE with Retry-After, not a 500 "bug". */
  const expectUnavailable = (res: LightMyRequestResponse) => {
    expect(res.statusCode, res.body).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toEqual({
      error: { code: 'STORE_UNAVAILABLE', message: 'The database is not reachable' },
    });
  };

  it('SQLite: the write lock held past the busy timeout is 503 STORE_UNAVAILABLE; the batch sent again is stored', async () => {
    p = await createPipeline('sqlite');
    const file = path.join(p.t.store.location, 'callhook.db');
    // Another process holds the write lock; this one waits no time for it.
    await sql`pragma busy_timeout = 0`.execute(p.t.store.store.db);
    const other = new SqliteDatabase(file);
    try {
      other.exec('begin immediate');
      expectUnavailable(await p.post('/api/v1/events', callEvent('ev-busy')));
      other.exec('rollback');
    } finally {
      other.close();
    }
    const again = await p.post('/api/v1/events', callEvent('ev-busy'));
    expect(again.statusCode, again.body).toBe(202);
    expect(again.json()).toEqual({ accepted: ['ev-busy'], duplicates: [], rejected: [] });
  });

  it('PostgreSQL: a session ended under a request (a restart, a failover) is 503 STORE_UNAVAILABLE', async () => {
    p = await createPipeline('postgres');
    const schema = p.t.store.location;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      // The ingest waits on a lock this session holds; its session is then ended by the server.
      await admin.query('begin');
      await admin.query(`lock table ${schema}.events in access exclusive mode`);
      const answer = p.post('/api/v1/events', callEvent('ev-ended'));
      let pid: number | undefined;
      const until = Date.now() + 5_000;
      while (pid === undefined && Date.now() < until) {
        const { rows } = await admin.query<{ pid: number }>(
          `select pid from pg_locks where not granted and relation = '${schema}.events'::regclass`,
        );
        pid = rows[0]?.pid;
        if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(pid, 'the ingest never waited on the lock').toBeDefined();
      await admin.query('select pg_terminate_backend($1)', [pid]);
      expectUnavailable(await answer);
      await admin.query('rollback');
    } finally {
      await admin.end();
    }
    const again = await p.post('/api/v1/events', callEvent('ev-ended'));
    expect(again.statusCode, again.body).toBe(202);
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

  it('answers a body that is not JSON with 415 UNSUPPORTED_MEDIA_TYPE, text/plain included', async () => {
    t = await createTestApp('sqlite');
    const admin = await t.user({ admin: true });
    const bob = await t.user();
    const send = (method: 'POST' | 'PUT', url: string, type: string, payload: string) =>
      t!.app.inject({
        method,
        url,
        headers: { ...admin.headers, 'content-type': type },
        payload,
      });
    const unsupported = {
      error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported Content-Type' },
    };
    for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/xml']) {
      const res = await send('POST', '/api/v1/api-keys', type, '{"name":"k"}');
      expect(res.statusCode, type).toBe(415);
      expect(res.json()).toEqual(unsupported);
    }
    // A route without a body schema took a text body before; now it is refused and does nothing.
    const grant = await send(
      'PUT',
      `/api/v1/users/${bob.id}/permissions/integration`,
      'text/plain',
      'hello',
    );
    expect(grant.statusCode).toBe(415);
    const me = await t.app.inject({ url: '/api/v1/me', headers: bob.headers });
    expect(me.json().effectivePermissions).toEqual([]);
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
    expect(res.body).toMatch(/^callhook_store_up 1$/m);
    expect(res.body).toContain('# TYPE callhook_attempt_duration_seconds histogram');
    // The process's own metrics under prom-client's names, prefixed once.
    expect(res.body).toContain('# TYPE callhook_process_cpu_seconds_total counter');
    expect(res.body).toContain('# TYPE callhook_nodejs_eventloop_lag_seconds gauge');
    expect(res.body).not.toMatch(/callhook_process_(process|nodejs)_/);
    // The store gone: the scrape still answers, with the process metrics, and says so.
    await t.store.store.close();
    // One snapshot serves one scrape; the next scrape reads anew (after this turn of the loop).
    await new Promise((resolve) => setImmediate(resolve));
    const down = await t.app.inject('/metrics');
    expect(down.statusCode).toBe(200);
    expect(down.body).toMatch(/^callhook_store_up 0$/m);
    // prom-client writes NaN as `Nan`; Prometheus reads either case.
    expect(down.body).toMatch(/^callhook_queue_depth nan$/im);
    expect(down.body).toMatch(/^callhook_process_\w+ \d/m);
  });
});
