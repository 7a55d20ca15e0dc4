/**
 * A WSDL server that hangs after the WSDL's TTL does not hold up SOAP calls: they run at once on
 * the cached WSDL while one background re-fetch waits for the WSDL server, and a re-fetch that
 * failed is not tried again on every call.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SoapClient } from '../../src/transport/soap-client.js';
import {
  fixture,
  LOOPBACK_POLICY,
  startFileServer,
  startNodeSoapServer,
  type FileServer,
  type NodeSoapServer,
} from './soap-servers.js';

describe('SOAP calls while the WSDL server hangs', () => {
  let files: FileServer;
  let service: NodeSoapServer;
  let client: SoapClient;
  let now = 1_000;

  beforeAll(async () => {
    files = await startFileServer();
    service = await startNodeSoapServer();
    client = new SoapClient({
      policy: LOOPBACK_POLICY,
      cache: { ttlMs: 60_000, failureTtlMs: 5_000, loadTimeoutMs: 400, now: () => now },
    });
  });

  afterAll(async () => {
    client?.close();
    await service?.close();
    await files?.close();
  });

  const call = () =>
    client.call({
      wsdlUrl: `${files.base}/dotnet-tickets.wsdl`,
      // The WSDL names the file server's /dotnet; the service is the node soap server's.
      endpoint: `${service.base}/dotnet`,
      operation: 'GetBalance',
      params: [{ name: 'accountId', value: 'A-1' }],
      timeoutMs: 300,
    });

  it('answers calls on the stale WSDL at once, with one re-fetch, not one per call', async () => {
    expect((await call()).kind).toBe('success');
    files.override.set('/dotnet-tickets.wsdl', {
      status: 200,
      body: fixture('dotnet-tickets.wsdl', files.base),
      delayMs: 10_000,
    });
    now += 61_000;
    for (let i = 0; i < 3; i += 1) {
      const outcome = await call();
      expect(outcome, outcome.message).toMatchObject({ kind: 'success' });
    }
    await vi.waitFor(() => expect(files.hits.get('/dotnet-tickets.wsdl')).toBe(2));
    // The re-fetch gives up at the load timeout; calls in the next failureTtlMs do not retry it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let i = 0; i < 3; i += 1) expect((await call()).kind).toBe('success');
    expect(files.hits.get('/dotnet-tickets.wsdl')).toBe(2);
    now += 5_001;
    expect((await call()).kind).toBe('success');
    await vi.waitFor(() => expect(files.hits.get('/dotnet-tickets.wsdl')).toBe(3));
    // Let that last re-fetch time out too before the servers close.
    await new Promise((resolve) => setTimeout(resolve, 500));
  });
});
