/**
 * A path the API has, asked with a method none of its routes takes, answers `405
 * METHOD_NOT_ALLOWED` with an `Allow` header listing the methods it takes (RFC 9110 §15.5.6), in
 * the one error body; `OPTIONS` on it answers 204 with the same `Allow`. Unknown paths, and any
 * path outside `/api/` (operations endpoints, the console's files), stay `404 ROUTE_NOT_FOUND`.
 * Every registered route is walked, as api.openapi-matches-routes.test.ts enumerates them, so a
 * route added later is covered too.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

type Method = NonNullable<InjectOptions['method']>;

/** The methods tried on each path, in the order `Allow` lists them. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** A concrete URL for a route's path: every parameter filled in. */
const concrete = (pattern: string) => pattern.replace(/:(\w+)/g, 'p-$1');

describe('a method a path does not take', () => {
  let t: TestApp;
  /** Each API path (concrete) with the `Allow` its routes give it. */
  let paths: Map<string, string[]>;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
    const taken = new Map<string, Set<string>>();
    for (const route of t.app.routeTable.filter((r) => r.url.startsWith('/api/'))) {
      const url = concrete(route.url);
      const methods = taken.get(url) ?? new Set<string>();
      methods.add(route.method);
      // Fastify answers HEAD on every GET route (`exposeHeadRoutes`).
      if (route.method === 'GET') methods.add('HEAD');
      taken.set(url, methods);
    }
    paths = new Map(
      [...taken].map(([url, methods]) => [
        url,
        [...METHODS.filter((m) => methods.has(m)), 'OPTIONS'],
      ]),
    );
  });
  afterAll(async () => t.close());

  it('covers every API route', () => {
    expect(paths.size).toBeGreaterThanOrEqual(30);
    expect(paths.get('/api/v1/events')).toEqual(['POST', 'OPTIONS']);
    expect(paths.get('/api/v1/deliveries/p-id/retry')).toEqual(['POST', 'OPTIONS']);
    expect(paths.get('/api/v1/integrations/p-id')).toEqual([
      'GET',
      'HEAD',
      'PUT',
      'PATCH',
      'DELETE',
      'OPTIONS',
    ]);
  });

  it('answers DELETE /api/v1/events 405 with Allow and the error body', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/api/v1/events?dryRun=1' });
    expect(res.statusCode).toBe(405);
    expect(res.headers['allow']).toBe('POST, OPTIONS');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({
      error: {
        code: 'METHOD_NOT_ALLOWED',
        message: '/api/v1/events does not take DELETE: it takes POST, OPTIONS',
        details: { allow: ['POST', 'OPTIONS'] },
      },
    });
  });

  it('answers every API path, for each method none of its routes takes, 405 with its Allow', async () => {
    const wrong: string[] = [];
    for (const [url, allow] of paths) {
      for (const method of METHODS.filter((m) => !allow.includes(m))) {
        const res = await t.app.inject({ method, url });
        const seen = `${method} ${url}`;
        expect([seen, res.statusCode, res.headers['allow']]).toEqual([seen, 405, allow.join(', ')]);
        // HEAD answers carry no body.
        if (method !== 'HEAD') {
          expect(res.json(), seen).toEqual({
            error: {
              code: 'METHOD_NOT_ALLOWED',
              message: `${url} does not take ${method}: it takes ${allow.join(', ')}`,
              details: { allow },
            },
          });
        }
        wrong.push(seen);
      }
    }
    expect(wrong).toContain('PUT /api/v1/deliveries/p-id/retry');
    expect(wrong).toContain('HEAD /api/v1/events');
  });

  it('serves every method Allow lists (HEAD on GET routes included): never 404 or 405', async () => {
    for (const [url, allow] of paths) {
      for (const method of allow.filter((m) => m !== 'OPTIONS') as Method[]) {
        // Anonymous: a guarded route answers 401 before it reads or changes anything.
        const res = await t.app.inject({ method, url });
        expect([404, 405], `${method} ${url} answered ${res.statusCode}`).not.toContain(
          res.statusCode,
        );
      }
    }
  });

  it('answers OPTIONS on every API path 204 with its Allow', async () => {
    for (const [url, allow] of paths) {
      const res = await t.app.inject({ method: 'OPTIONS', url });
      expect([url, res.statusCode, res.headers['allow'], res.body]).toEqual([
        url,
        204,
        allow.join(', '),
        '',
      ]);
    }
  });

  it('keeps 404 ROUTE_NOT_FOUND for unknown paths and for paths outside /api/', async () => {
    const notFound: [Method, string][] = [
      ['GET', '/api/v1/nothing-here'],
      ['DELETE', '/api/v1/nothing-here'],
      ['OPTIONS', '/api/v1/nothing-here'],
      ['POST', '/api/v1/events/p-id'],
      ['GET', '/api/v2/events'],
      ['POST', '/api'],
      ['GET', '/api/'],
      ['POST', '/healthz'],
      ['OPTIONS', '/healthz'],
      ['DELETE', '/readyz'],
      ['PUT', '/metrics'],
      // `GET /` is the web console's page (console.routes.ts): other methods and files are not.
      ['POST', '/'],
      ['OPTIONS', '/'],
      ['GET', '/index.html'],
      ['GET', '/console/none.js'],
      ['DELETE', '/console/app.js'],
      ['DELETE', '/assets/app.js'],
    ];
    for (const [method, url] of notFound) {
      const res = await t.app.inject({ method, url });
      expect([method, url, res.statusCode, res.headers['allow']]).toEqual([
        method,
        url,
        404,
        undefined,
      ]);
      if (method !== 'HEAD') {
        expect(res.json().error.code, `${method} ${url}`).toBe('ROUTE_NOT_FOUND');
      }
    }
  });
});
