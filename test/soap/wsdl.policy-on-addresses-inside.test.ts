/**
 * The network policy on the addresses a WSDL names itself: its soap:address, its wsdl:import and
 * xsd:include/import locations, and where a WSDL server redirects. Only 127.0.0.1/32 is open, so
 * the second loopback server (127.0.0.2) stands for an address inside the network; nothing may
 * reach it, whatever the environment's proxy variables say.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SoapClient } from '../../src/transport/soap-client.js';
import { policyOpening, startServer, type TestServer } from '../transport/servers.js';
import { fixture } from './soap-servers.js';

describe('the network policy on addresses inside a WSDL', () => {
  let outside: TestServer;
  let inside: TestServer;
  let proxy: TestServer;
  const documents = new Map<string, string>();
  const reachedInside: string[] = [];
  let proxied = 0;
  let client: SoapClient;

  beforeAll(async () => {
    outside = await startServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      const to = url.searchParams.get('to');
      if (to !== null) {
        response.writeHead(302, { location: to }).end();
        return;
      }
      const body = documents.get(url.pathname);
      if (body === undefined) response.writeHead(404).end();
      else response.writeHead(200, { 'content-type': 'text/xml' }).end(body);
    });
    inside = await startServer(
      (request, response) => {
        reachedInside.push(request.url ?? '');
        response.writeHead(200, { 'content-type': 'text/xml' }).end('<x/>');
      },
      { host: '127.0.0.2' },
    );
    proxy = await startServer((_request, response) => {
      proxied += 1;
      response.end('via the proxy');
    });
    client = new SoapClient({ policy: policyOpening('127.0.0.1/32') });
  });

  afterAll(async () => {
    client?.close();
    await outside?.close();
    await inside?.close();
    await proxy?.close();
  });

  const importing = (element: string): string =>
    '<?xml version="1.0"?><definitions targetNamespace="urn:t" ' +
    'xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
    `${element}</definitions>`;

  it('refuses a call to the soap:address the WSDL names, before connecting', async () => {
    documents.set('/inside-address.wsdl', fixture('bare-sms.wsdl', inside.origin));
    const outcome = await client.call({
      wsdlUrl: `${outside.origin}/inside-address.wsdl`,
      operation: 'Ping',
      params: [{ name: 'PingText', value: 'hello' }],
      timeoutMs: 5_000,
    });
    expect(outcome).toMatchObject({ kind: 'refused', retryable: false });
    expect(outcome.message).toContain('address 127.0.0.2 is in the loopback range');
    expect(reachedInside).toEqual([]);
  });

  it.each([
    ['wsdl:import', (at: string) => `<import namespace="urn:i" location="${at}"/>`],
    [
      'xsd:include',
      (at: string) =>
        `<types><xsd:schema targetNamespace="urn:t"><xsd:include schemaLocation="${at}"/></xsd:schema></types>`,
    ],
    [
      'xsd:import',
      (at: string) =>
        `<types><xsd:schema targetNamespace="urn:t"><xsd:import namespace="urn:i" schemaLocation="${at}"/></xsd:schema></types>`,
    ],
  ])('refuses a %s of a refused address, naming the document', async (kind, element) => {
    const path = `/${kind.replace(':', '-')}.wsdl`;
    const target = `http://127.0.0.2:${inside.port}/types.xsd`;
    documents.set(path, importing(element(target)));
    const found = await client.refresh(`${outside.origin}${path}`);
    expect(found).toMatchObject({
      ok: false,
      failure: { kind: 'refused', documentUrl: target, retryable: false },
    });
    expect(reachedInside).toEqual([]);
  });

  it('refuses a WSDL, or an import, that redirects to a refused address', async () => {
    const to = encodeURIComponent(`http://127.0.0.2:${inside.port}/moved.wsdl`);
    const redirected = await client.refresh(`${outside.origin}/?to=${to}`);
    expect(redirected).toMatchObject({ ok: false, failure: { kind: 'refused' } });
    documents.set(
      '/import-redirected.wsdl',
      importing(`<import namespace="urn:i" location="${outside.origin}/?to=${to}"/>`),
    );
    const imported = await client.refresh(`${outside.origin}/import-redirected.wsdl`);
    expect(imported).toMatchObject({ ok: false, failure: { kind: 'refused' } });
    expect(reachedInside).toEqual([]);
  });

  it('ignores HTTP_PROXY, HTTPS_PROXY and ALL_PROXY for WSDL fetches and calls', async () => {
    for (const name of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY']) {
      vi.stubEnv(name, proxy.origin);
    }
    try {
      const wsdl = await client.refresh(`http://127.0.0.2:${inside.port}/direct.wsdl`);
      expect(wsdl).toMatchObject({ ok: false, failure: { kind: 'refused' } });
      const call = await client.call({
        wsdlUrl: `${outside.origin}/inside-address.wsdl`,
        operation: 'Ping',
        params: [{ name: 'PingText', value: 'hello' }],
        timeoutMs: 5_000,
      });
      expect(call).toMatchObject({ kind: 'refused' });
      expect(proxied).toBe(0);
      expect(reachedInside).toEqual([]);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
