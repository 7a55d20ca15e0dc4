/**
 * The WSDL cache: one fetch per URL while fresh, the stale WSDL answered at once after the TTL
 * while it is fetched again in the background (and kept when that fails), the refresh action and
 * its race with an older load, relative imports after a redirect, and a clear error (which
 * document, what was wrong, retryable or not) for every way a WSDL can fail to load.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { NetworkPolicy } from '../../src/transport/network-policy.js';
import { createPolicyAgents, type PolicyAgents } from '../../src/transport/safe-connect.js';
import { WsdlCache, type WsdlResult } from '../../src/transport/wsdl-cache.js';
import {
  LOOPBACK_POLICY,
  closeServer,
  fixture,
  startFileServer,
  type FileServer,
} from './soap-servers.js';

describe('the WSDL cache', () => {
  let files: FileServer;
  let agents: PolicyAgents;
  let now = 0;

  beforeAll(async () => {
    files = await startFileServer();
    agents = createPolicyAgents(LOOPBACK_POLICY);
  });

  afterEach(() => {
    files.override.clear();
    files.hits.clear();
  });

  afterAll(async () => {
    agents?.httpAgent.destroy();
    agents?.httpsAgent.destroy();
    await files?.close();
  });

  const newCache = (options: { loadTimeoutMs?: number; maxDocumentBytes?: number } = {}) =>
    new WsdlCache({ agents, now: () => now, ttlMs: 60_000, failureTtlMs: 5_000, ...options });

  function failureOf(result: WsdlResult) {
    if (result.ok) throw new Error('expected a failure');
    return result.failure;
  }

  it('fetches a WSDL once while it is fresh, concurrent callers sharing the fetch', async () => {
    const cache = newCache();
    const url = `${files.base}/wcf-main.wsdl`;
    const results = await Promise.all([cache.get(url), cache.get(url), cache.get(url)]);
    expect(results.every((result) => result.ok)).toBe(true);
    await cache.get(url);
    expect(files.hits.get('/wcf-main.wsdl')).toBe(1);
    // Imports are part of the one load.
    expect(files.hits.get('/wcf-common.xsd')).toBe(1);
  });

  function loadedOf(result: WsdlResult) {
    if (!result.ok) throw new Error(`expected a WSDL, got: ${result.failure.message}`);
    return result.loaded;
  }

  const operations = (result: WsdlResult) =>
    loadedOf(result)
      .description.services.flatMap((service) => service.ports)
      .flatMap((port) => port.operations.map((op) => op.name));

  it('after the TTL answers the old WSDL at once and re-fetches it in the background', async () => {
    const cache = newCache();
    const url = `${files.base}/dotnet-tickets.wsdl`;
    now = 1_000;
    const first = loadedOf(await cache.get(url));
    now += 60_001;
    // The WSDL server now takes 1.5 s: the stale copy is answered without waiting for it.
    files.override.set('/dotnet-tickets.wsdl', {
      status: 200,
      body: fixture('dotnet-tickets.wsdl', files.base),
      delayMs: 1_500,
    });
    const started = performance.now();
    expect(loadedOf(await cache.get(url))).toBe(first);
    expect(loadedOf(await cache.get(url))).toBe(first);
    expect(performance.now() - started).toBeLessThan(500);
    // One re-fetch, shared; its result replaces the old WSDL once it arrives.
    await vi.waitFor(async () => expect(loadedOf(await cache.get(url))).not.toBe(first), {
      timeout: 5_000,
      interval: 50,
    });
    expect(files.hits.get('/dotnet-tickets.wsdl')).toBe(2);
    expect(loadedOf(await cache.get(url)).description.expiresAt).toBe(
      new Date(now + 60_000).toISOString(),
    );
  });

  it('keeps the old WSDL when the re-fetch fails, and tries again only after failureTtlMs', async () => {
    const cache = newCache();
    const url = `${files.base}/dotnet-tickets.wsdl`;
    now = 1_000;
    const first = loadedOf(await cache.get(url));
    now += 60_001;
    files.override.set('/dotnet-tickets.wsdl', { status: 503, body: 'down for maintenance' });
    expect(loadedOf(await cache.get(url))).toBe(first);
    // The failed re-fetch is remembered: uses within failureTtlMs do not fetch again.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let i = 0; i < 5; i += 1) expect(loadedOf(await cache.get(url))).toBe(first);
    expect(files.hits.get('/dotnet-tickets.wsdl')).toBe(2);
    files.override.clear();
    now += 5_001;
    expect(loadedOf(await cache.get(url))).toBe(first);
    await vi.waitFor(async () => expect(loadedOf(await cache.get(url))).not.toBe(first), {
      timeout: 5_000,
      interval: 50,
    });
    expect(files.hits.get('/dotnet-tickets.wsdl')).toBe(3);
  });

  it('keeps the refreshed WSDL when an older, slower load finishes after the refresh', async () => {
    const cache = newCache();
    const url = `${files.base}/race.wsdl`;
    const before = fixture('dotnet-tickets.wsdl', files.base);
    files.override.set('/race.wsdl', { status: 200, body: before, delayMs: 400 });
    const slow = cache.get(url);
    await vi.waitFor(() => expect(files.hits.get('/race.wsdl')).toBe(1));
    // The service renamed GetBalance; the user refreshes while the first load is still running.
    files.override.set('/race.wsdl', {
      status: 200,
      body: before.replaceAll('"GetBalance"', '"GetAccountBalance"'),
    });
    const refreshed = await cache.refresh(url);
    expect(operations(refreshed)).toContain('GetAccountBalance');
    // The older load still answers its own caller with what it read...
    expect(operations(await slow)).toContain('GetBalance');
    // ...but the cache keeps the refreshed WSDL.
    expect(loadedOf(await cache.get(url))).toBe(loadedOf(refreshed));
  });

  it('resolves relative imports against the URL a redirect led to, and lists that URL', async () => {
    // /moved → /sub/wcf-main.wsdl, which imports wcf-abstract.wsdl → /deep/wcf-abstract.wsdl,
    // which imports wcf-types.xsd (→ wcf-common.xsd): each relative to where it really is.
    const redirects: Record<string, string> = {
      '/moved': '/sub/wcf-main.wsdl',
      '/sub/wcf-abstract.wsdl': '/deep/wcf-abstract.wsdl',
    };
    const server = http.createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const target = redirects[path];
      if (target !== undefined) {
        res.writeHead(path === '/moved' ? 301 : 302, { location: target }).end();
        return;
      }
      const match = /^\/(sub\/wcf-main\.wsdl|deep\/wcf-[a-z]+\.(wsdl|xsd))$/.exec(path);
      if (match === null) {
        res.writeHead(404).end('no such document');
        return;
      }
      res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(fixture(path.split('/')[2] ?? '', origin));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const result = await newCache().get(`${origin}/moved`);
      const { description } = loadedOf(result);
      expect(description.wsdlUrl).toBe(`${origin}/moved`);
      expect([...description.documents].sort()).toEqual([
        `${origin}/deep/wcf-abstract.wsdl`,
        `${origin}/deep/wcf-common.xsd`,
        `${origin}/deep/wcf-types.xsd`,
        `${origin}/sub/wcf-main.wsdl`,
      ]);
      expect(description.documents[0]).toBe(`${origin}/sub/wcf-main.wsdl`);
      expect(operations(result).length).toBeGreaterThan(0);
    } finally {
      await closeServer(server);
    }
  });

  it('refresh() fetches now and reports a failure, while calls keep the previous WSDL', async () => {
    const cache = newCache();
    const url = `${files.base}/bare-sms.wsdl`;
    expect((await cache.get(url)).ok).toBe(true);
    expect((await cache.refresh(url)).ok).toBe(true);
    expect(files.hits.get('/bare-sms.wsdl')).toBe(2);
    files.override.set('/bare-sms.wsdl', {
      status: 200,
      body: '<definitions><oops></definitions>',
    });
    const failed = failureOf(await cache.refresh(url));
    expect(failed).toMatchObject({ kind: 'wsdl_invalid', documentUrl: url, retryable: false });
    expect(failed.message).toMatch(/^not well-formed XML: .*'oops'.*\(line 1, column 20\)$/);
    expect((await cache.get(url)).ok).toBe(true);
  });

  it('names the URL and status of a WSDL answered with 404 (not retryable) or 503 (retryable)', async () => {
    const cache = newCache();
    const missing = failureOf(await cache.get(`${files.base}/nope.wsdl`));
    expect(missing).toEqual({
      kind: 'wsdl_invalid',
      wsdlUrl: `${files.base}/nope.wsdl`,
      documentUrl: `${files.base}/nope.wsdl`,
      message: 'answered HTTP 404: no such document',
      retryable: false,
    });
    files.override.set('/busy.wsdl', { status: 503, body: '' });
    expect(failureOf(await cache.get(`${files.base}/busy.wsdl`))).toMatchObject({
      kind: 'wsdl_unreachable',
      message: 'answered HTTP 503',
      retryable: true,
    });
  });

  it('quotes the start of an error page on one line, cut after a whole character', async () => {
    const cache = newCache();
    // An emoji (two UTF-16 units) at 199: a cut at 200 characters would keep half of it.
    const page = `${'a'.repeat(150)}\n\n${'b'.repeat(48)}\u{1F600}${'c'.repeat(50)}`;
    files.override.set('/gone.wsdl', { status: 404, body: page });
    const { message } = failureOf(await cache.get(`${files.base}/gone.wsdl`));
    expect(message).toBe(`answered HTTP 404: ${'a'.repeat(150)} ${'b'.repeat(48)}…`);
    expect(message).not.toMatch(/[\uD800-\uDFFF]/);
  });

  it('remembers a failed load briefly instead of fetching again for every call', async () => {
    const cache = newCache();
    files.override.set('/flaky.wsdl', { status: 502, body: 'bad gateway' });
    const url = `${files.base}/flaky.wsdl`;
    await cache.get(url);
    await cache.get(url);
    expect(files.hits.get('/flaky.wsdl')).toBe(1);
    now += 5_001;
    await cache.get(url);
    expect(files.hits.get('/flaky.wsdl')).toBe(2);
  });

  it('names the import that failed, not only the WSDL', async () => {
    const cache = newCache();
    files.override.set('/wcf-common.xsd', { status: 404, body: 'gone' });
    expect(failureOf(await cache.get(`${files.base}/wcf-main.wsdl`))).toEqual({
      kind: 'wsdl_invalid',
      wsdlUrl: `${files.base}/wcf-main.wsdl`,
      documentUrl: `${files.base}/wcf-common.xsd`,
      message: 'answered HTTP 404: gone',
      retryable: false,
    });
  });

  it('names an empty or cut import as the document that is not XML (not retryable)', async () => {
    const cache = newCache();
    const url = `${files.base}/wcf-main.wsdl`;
    files.override.set('/wcf-common.xsd', { status: 200, body: ' \n' });
    expect(failureOf(await cache.get(url))).toEqual({
      kind: 'wsdl_invalid',
      wsdlUrl: url,
      documentUrl: `${files.base}/wcf-common.xsd`,
      message: 'the document is empty',
      retryable: false,
    });
    now += 5_001;
    files.override.set('/wcf-common.xsd', {
      status: 200,
      body: '<?xml version="1.0"?>\n<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/',
    });
    expect(failureOf(await cache.get(url))).toEqual({
      kind: 'wsdl_invalid',
      wsdlUrl: url,
      documentUrl: `${files.base}/wcf-common.xsd`,
      message:
        "not well-formed XML: Tag 'xs:schema' is not closed: the document ends before its '>'. (line 2, column 1)",
      retryable: false,
    });
  });

  it('names the import that is text or mismatched XML, with its 1-based line, not the WSDL that imports it', async () => {
    const cache = newCache();
    const url = `${files.base}/wcf-main.wsdl`;
    // The SOAP library's own parser trips on these (with a 0-based line and no document).
    files.override.set('/wcf-common.xsd', { status: 200, body: 'oops, not xml\n' });
    expect(failureOf(await cache.get(url))).toEqual({
      kind: 'wsdl_invalid',
      wsdlUrl: url,
      documentUrl: `${files.base}/wcf-common.xsd`,
      message: "not well-formed XML: char 'o' is not expected. (line 1, column 1)",
      retryable: false,
    });
    now += 5_001;
    files.override.set('/wcf-common.xsd', {
      status: 200,
      body:
        '<?xml version="1.0"?>\n<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">\n' +
        '<xs:element name="a">\n</xs:schema>\n',
    });
    expect(failureOf(await cache.get(url))).toMatchObject({
      documentUrl: `${files.base}/wcf-common.xsd`,
      message: expect.stringMatching(/^not well-formed XML: .*\(line 4, column \d+\)$/),
    });
    // The WSDL itself as plain text: its line counts from 1 too.
    now += 5_001;
    files.override.clear();
    files.override.set('/text.wsdl', { status: 200, body: '\nhello, not xml' });
    expect(failureOf(await cache.get(`${files.base}/text.wsdl`))).toEqual({
      kind: 'wsdl_invalid',
      wsdlUrl: `${files.base}/text.wsdl`,
      documentUrl: `${files.base}/text.wsdl`,
      message: "not well-formed XML: char 'h' is not expected. (line 2, column 1)",
      retryable: false,
    });
  });

  it('reports a redirect loop and a redirect to a non-http location as invalid (not retryable)', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/a.wsdl') res.writeHead(302, { location: '/b.wsdl' }).end();
      else if (req.url === '/b.wsdl') res.writeHead(301, { location: '/a.wsdl' }).end();
      else res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const cache = newCache();
      expect(failureOf(await cache.get(`${origin}/a.wsdl`))).toEqual({
        kind: 'wsdl_invalid',
        wsdlUrl: `${origin}/a.wsdl`,
        documentUrl: `${origin}/a.wsdl`,
        message: 'redirected more than 5 times (a redirect loop?)',
        retryable: false,
      });
      expect(failureOf(await cache.get(`${origin}/local.wsdl`))).toMatchObject({
        kind: 'wsdl_invalid',
        message: expect.stringMatching(/^cannot be fetched: Redirected request failed: .*file:/),
        retryable: false,
      });
    } finally {
      await closeServer(server);
    }
  });

  it('refuses non-http WSDL URLs and file: imports, so a WSDL cannot read local files', async () => {
    const cache = newCache();
    expect(failureOf(await cache.get('file:///etc/passwd'))).toMatchObject({
      kind: 'wsdl_invalid',
      message: 'the WSDL URL must be http: or https:, not file:',
    });
    expect(failureOf(await cache.get('not a url'))).toMatchObject({
      message: '"not a url" is not an absolute URL',
    });
    files.override.set('/local.wsdl', {
      status: 200,
      body: `<?xml version="1.0"?>
        <definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
          targetNamespace="urn:x"><types><xs:schema targetNamespace="urn:x">
          <xs:import namespace="urn:y" schemaLocation="file:///etc/hostname"/></xs:schema></types></definitions>`,
    });
    expect(failureOf(await cache.get(`${files.base}/local.wsdl`))).toMatchObject({
      kind: 'wsdl_invalid',
      documentUrl: 'file:///etc/hostname',
      message: 'imports and includes must be http: or https: URLs',
    });
  });

  it('refuses a document with no SOAP service in it', async () => {
    const cache = newCache();
    files.override.set('/abstract.wsdl', {
      status: 200,
      body: '<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" targetNamespace="urn:x"/>',
    });
    expect(failureOf(await cache.get(`${files.base}/abstract.wsdl`)).message).toBe(
      'the WSDL defines no SOAP service (no <service> whose <port> uses a SOAP 1.1 or 1.2 binding)',
    );
  });

  it('refuses a document over its size cap, naming the cap', async () => {
    const cache = newCache({ maxDocumentBytes: 1_000 });
    files.override.set('/big.wsdl', { status: 200, body: `<x>${'a'.repeat(2_000)}</x>` });
    expect(failureOf(await cache.get(`${files.base}/big.wsdl`))).toMatchObject({
      kind: 'wsdl_invalid',
      message: 'larger than 1000 bytes',
    });
  });

  it('reports a closed port and a WSDL slower than the load timeout as unreachable (retryable)', async () => {
    const cache = newCache({ loadTimeoutMs: 200 });
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await closeServer(probe);
    const closed = failureOf(await cache.get(`http://127.0.0.1:${port}/x.wsdl`));
    expect(closed).toMatchObject({ kind: 'wsdl_unreachable', retryable: true });
    expect(closed.message).toContain('ECONNREFUSED');

    files.override.set('/slow.wsdl', { status: 200, body: '<x/>', delayMs: 2_000 });
    const slow = failureOf(await cache.get(`${files.base}/slow.wsdl`));
    expect(slow).toEqual({
      kind: 'wsdl_unreachable',
      wsdlUrl: `${files.base}/slow.wsdl`,
      documentUrl: `${files.base}/slow.wsdl`,
      message: 'no complete answer within 200 ms',
      retryable: true,
    });
  });

  it('refuses a WSDL on a range the network policy forbids, naming the range', async () => {
    const strict = createPolicyAgents(new NetworkPolicy());
    try {
      const cache = new WsdlCache({ agents: strict });
      const refused = failureOf(await cache.get(`${files.base}/dotnet-tickets.wsdl`));
      expect(refused).toMatchObject({ kind: 'refused', retryable: false });
      expect(refused.message).toContain('loopback');
      expect(files.hits.get('/dotnet-tickets.wsdl')).toBeUndefined();
    } finally {
      strict.httpAgent.destroy();
      strict.httpsAgent.destroy();
    }
  });
});
