/**
 * The web console's files (src/api/console.routes.ts): `/` is its page with a strict CSP and the
 * usual headers, `/console/*` its scripts and style sheet with their content types and ETags;
 * unknown files, any other path and unknown `/api/` paths keep the API's JSON 404 (405 for a wrong
 * method on an API path), and the operations endpoints are unchanged.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { CONSOLE_CSP, consoleRoutes } from '../../src/api/console.routes.js';

describe('the web console files', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
  });
  afterAll(async () => t.close());

  it('serves / as HTML with a CSP that allows no inline script', async () => {
    const res = await t.app.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('<script type="module" src="/console/app.js"></script>');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toBe(CONSOLE_CSP);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('same-origin');
    // No inline script or style in the page itself.
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.body).not.toMatch(/\sstyle=|<style/);
  });

  it('serves the scripts and the style sheet with their content types', async () => {
    const js = await t.app.inject('/console/app.js');
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toContain('import');
    expect(js.headers['content-security-policy']).toBe(CONSOLE_CSP);
    const css = await t.app.inject('/console/console.css');
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    // Every module app.js imports is served too.
    for (const [, name] of js.body.matchAll(/from '\.\/([\w-]+\.js)'/g)) {
      const module = await t.app.inject(`/console/${name}`);
      expect(module.statusCode, name).toBe(200);
      expect(module.headers['content-type']).toBe('text/javascript; charset=utf-8');
    }
  });

  it('answers 304 to a request that has the file (ETag)', async () => {
    const first = await t.app.inject('/console/app.js');
    const etag = String(first.headers['etag']);
    expect(first.headers['cache-control']).toBe('no-cache');
    const again = await t.app.inject({
      url: '/console/app.js',
      headers: { 'if-none-match': etag },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('keeps the API 404 for unknown files, other paths and unknown API paths', async () => {
    for (const url of [
      '/console/nope.js',
      '/console/../package.json',
      '/console/%2e%2e/package.json',
      '/console/index.html',
      '/console/',
      '/integrations',
      '/api/unknown',
      '/api/v1/nothing-here',
    ]) {
      const res = await t.app.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/^application\/json/);
      expect(res.json().error.code, url).toBe('ROUTE_NOT_FOUND');
    }
    const wrongMethod = await t.app.inject({ method: 'DELETE', url: '/api/v1/events' });
    expect(wrongMethod.statusCode).toBe(405);
    const postRoot = await t.app.inject({ method: 'POST', url: '/' });
    expect(postRoot.statusCode).toBe(404);
    expect(postRoot.json().error.code).toBe('ROUTE_NOT_FOUND');
  });

  it('leaves /healthz, /readyz and /metrics as they were', async () => {
    expect((await t.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject('/readyz')).json()).toEqual({ status: 'ready' });
    const metrics = await t.app.inject('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('callhook_deliveries_total');
    expect(metrics.headers['content-security-policy']).toBeUndefined();
  });

  it('says how to build the console when its files are missing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'callhook-console-'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html>');
    const app = Fastify({ logger: false });
    try {
      await app.register(consoleRoutes, { dirs: [dir] });
      const res = await app.inject('/');
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('npm run build');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
