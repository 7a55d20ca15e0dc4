/**
 * Callhook's SOAP client against the node `soap` package's server: document/literal wrapped and
 * rpc/literal, faults, a slow server, custom headers, WS-Security, masking, preview, HTTP errors
 * and the network policy.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkPolicy } from '../../src/transport/network-policy.js';
import {
  SoapClient,
  type SoapCallRequest,
  type SoapOutcome,
} from '../../src/transport/soap-client.js';
import {
  closeServer,
  LOOPBACK_POLICY,
  startNodeSoapServer,
  type NodeSoapServer,
} from './soap-servers.js';

const AWKWARD = 'a < b && c > d ]]> "q" — Zoë, 日本語, Ελληνικά';

// Inside one describe: its afterAll closes the servers before the leak guard's runs.
describe('SOAP calls to the node soap server', () => {
  let server: NodeSoapServer;
  let client: SoapClient;
  let wsdlUrl: string;

  beforeAll(async () => {
    server = await startNodeSoapServer();
    client = new SoapClient({ policy: LOOPBACK_POLICY });
    wsdlUrl = `${server.base}/dotnet?wsdl`;
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  /** A call to the .NET-style service with a 5 s deadline. */
  const callService = (request: Omit<SoapCallRequest, 'wsdlUrl' | 'timeoutMs'>) =>
    client.call({ wsdlUrl, timeoutMs: 5_000, ...request });

  function expectSuccess(outcome: SoapOutcome): Extract<SoapOutcome, { kind: 'success' }> {
    if (outcome.kind !== 'success') {
      throw new Error(
        `expected success, got ${outcome.kind}: ${outcome.message}\n${outcome.response?.body ?? ''}`,
      );
    }
    return outcome;
  }

  describe('document/literal wrapped against the node soap server', () => {
    it('delivers nested parameters and awkward text intact, with custom HTTP headers', async () => {
      const outcome = expectSuccess(
        await callService({
          operation: 'CreateTicket',
          params: [
            { name: 'note', value: AWKWARD },
            { name: 'priority', value: '2' },
            { name: 'customer.phone', value: '+15551234567' },
            { name: 'customer.address.street', value: 'Hauptstraße 1 & 2' },
          ],
          headers: { 'Idempotency-Key': 'dlv-1', 'X-Tenant': 'acme' },
        }),
      );
      const call = server.calls.at(-1);
      expect(call?.args).toEqual({
        note: AWKWARD,
        priority: 2,
        customer: { phone: '+15551234567', address: { street: 'Hauptstraße 1 & 2' } },
      });
      expect(call?.headers['idempotency-key']).toBe('dlv-1');
      expect(call?.headers['x-tenant']).toBe('acme');
      expect(call?.headers['soapaction']).toBe('"http://callhook.test/tickets/CreateTicket"');
      expect(outcome.result).toMatchObject({ CreateTicketResult: { TicketId: 'NODE-1' } });
      expect(outcome.response.status).toBe(200);
      expect(outcome.response.body).toContain('NODE-1');
    });

    it('sends the envelope as built, even when a custom header says the body is JSON', async () => {
      const outcome = await callService({
        operation: 'GetBalance',
        params: [{ name: 'accountId', value: 'A-1' }],
        headers: { 'Content-Type': 'application/json' },
      });
      const call = server.calls.at(-1);
      // Re-encoded, it would arrive as a JSON string: `"<?xml …"`.
      expect(call?.body).toMatch(/^<\?xml|^<(\w+:)?Envelope/);
      expect(outcome.request?.body).toBe(call?.body);
    });

    it('adds a WS-Security UsernameToken and masks its password and secret values in the record', async () => {
      const outcome = expectSuccess(
        await callService({
          operation: 'GetBalance',
          params: [{ name: 'accountId', value: 'acct-secret-77', secret: true }],
          headers: { Authorization: 'Basic c2VjcmV0', 'Content-Language': 'en' },
          wsSecurity: { username: 'ivr', password: 'pa55<word>' },
        }),
      );
      const call = server.calls.at(-1);
      expect(call?.args).toEqual({ accountId: 'acct-secret-77' });
      expect(call?.soapHeaders).toMatchObject({
        Security: { UsernameToken: { Username: 'ivr', Password: { $value: 'pa55<word>' } } },
      });
      expect(outcome.request.body).not.toContain('pa55');
      expect(outcome.request.body).not.toContain('acct-secret-77');
      expect(outcome.request.body).toContain('<accountId>••••</accountId>');
      expect(outcome.request.headers['Authorization']).toBe('••••');
      expect(outcome.request.headers['Content-Language']).toBe('en');
      expect(outcome.result).toEqual({ GetBalanceResult: '12.50' });
    });

    it('reports soap:Server faults as retryable and soap:Client faults as not', async () => {
      const server500 = await callService({
        operation: 'Fail',
        params: [{ name: 'kind', value: 'server' }],
      });
      expect(server500).toMatchObject({
        kind: 'fault',
        retryable: true,
        fault: { code: 'soap:Server', string: 'database is down, try later' },
      });
      const client400 = await callService({
        operation: 'Fail',
        params: [{ name: 'kind', value: 'client' }],
      });
      expect(client400).toMatchObject({
        kind: 'fault',
        retryable: false,
        fault: { code: 'soap:Client' },
      });
      expect(client400.message).toBe('SOAP fault soap:Client: account number is not valid');
    });

    it('gives up on a slow server at the deadline, as a retryable timeout', async () => {
      const started = performance.now();
      const outcome = await client.call({
        wsdlUrl,
        operation: 'Slow',
        timeoutMs: 300,
        params: [{ name: 'ms', value: '5000' }],
      });
      const waited = performance.now() - started;
      expect(outcome).toMatchObject({ kind: 'timeout', retryable: true });
      expect(outcome.request?.body).toContain('<ms>5000</ms>');
      expect(waited).toBeGreaterThanOrEqual(290);
      expect(waited).toBeLessThan(2_000);
    });

    it('names the stated deadline when the call was given what was left of a longer one', async () => {
      const outcome = await client.call({
        wsdlUrl,
        operation: 'Slow',
        timeoutMs: 150,
        statedTimeoutMs: 400,
        params: [{ name: 'ms', value: '5000' }],
      });
      expect(outcome).toMatchObject({
        kind: 'timeout',
        message: 'no answer within the 400 ms timeout',
      });
    });

    it('keeps SOAP 1.1 and 1.2 apart when calls on both ports of one cached WSDL interleave', async () => {
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          callService({
            port: i % 2 === 0 ? 'TicketsSoap' : 'TicketsSoap12',
            operation: 'GetBalance',
            params: [{ name: 'accountId', value: `a${i}` }],
          }),
        ),
      );
      outcomes.forEach((outcome, i) => {
        const ok = expectSuccess(outcome);
        const soap12 = i % 2 === 1;
        expect(ok.request.soapVersion).toBe(soap12 ? '1.2' : '1.1');
        expect(ok.request.body.includes('http://www.w3.org/2003/05/soap-envelope')).toBe(soap12);
        expect(ok.request.headers['Content-Type']?.startsWith('application/soap+xml')).toBe(soap12);
      });
    });
  });

  describe('rpc/literal against the node soap server', () => {
    it('sends the operation element with one accessor per part', async () => {
      const outcome = expectSuccess(
        await client.call({
          wsdlUrl: `${server.base}/rpc-literal?wsdl`,
          operation: 'ChargeAccount',
          timeoutMs: 5_000,
          params: [
            { name: 'account', value: 'A-9' },
            { name: 'amount', value: '3.10' },
            { name: 'memo', value: AWKWARD },
            { name: 'payer.name', value: 'Ана' },
            { name: 'payer.phone', value: '+7' },
          ],
        }),
      );
      expect(server.calls.at(-1)?.args).toEqual({
        account: 'A-9',
        // rpc/literal parts are not typed by the node server: the text arrives as sent.
        amount: '3.10',
        memo: AWKWARD,
        payer: { name: 'Ана', phone: '+7' },
      });
      expect(server.calls.at(-1)?.headers['soapaction']).toBe(
        '"urn:callhook:billing#ChargeAccount"',
      );
      expect(outcome.result).toMatchObject({ receipt: 'R-A-9' });
    });
  });

  describe('preview', () => {
    it('shows the envelope and headers a call would send, and sends nothing', async () => {
      const before = server.calls.length;
      const preview = await client.preview({
        wsdlUrl,
        operation: 'CreateTicket',
        timeoutMs: 5_000,
        params: [
          { name: 'note', value: 'a < b' },
          { name: 'priority', value: '1' },
        ],
        headers: { 'Content-Language': 'de', 'X-Api-Key': 'k-1' },
      });
      expect(server.calls.length).toBe(before);
      if (!preview.ok) throw new Error(preview.outcome.message);
      expect(preview.request).toMatchObject({
        url: `${server.base}/dotnet`,
        method: 'POST',
        soapVersion: '1.1',
        soapAction: 'http://callhook.test/tickets/CreateTicket',
        // Header values are secret unless they only describe the request (domain/integration.ts).
        headers: {
          SOAPAction: '"http://callhook.test/tickets/CreateTicket"',
          'Content-Language': 'de',
          'X-Api-Key': '••••',
        },
      });
      expect(preview.request.body).toContain(
        '<CreateTicket xmlns="http://callhook.test/tickets/"><note>a &lt; b</note><priority>1</priority></CreateTicket>',
      );
      expect(preview.warnings).toEqual([]);
    });

    it('refuses parameters that do not fit the operation, naming each', async () => {
      const preview = await client.preview({
        wsdlUrl,
        operation: 'CreateTicket',
        timeoutMs: 5_000,
        params: [
          { name: 'customer.fax', value: '1' },
          { name: 'customer', value: 'x' },
        ],
      });
      expect(preview.ok).toBe(false);
      if (preview.ok) return;
      expect(preview.outcome).toMatchObject({ kind: 'invalid', retryable: false });
      expect(preview.outcome.kind === 'invalid' && preview.outcome.problems).toEqual([
        {
          field: 'config.params.0.name',
          message:
            '"customer.fax": "customer" has no element "fax" (it has "name", "phone", "address")',
        },
        {
          field: 'config.params.1.name',
          message: expect.stringContaining('"customer" is a complex element'),
        },
      ]);
    });
  });

  describe('failures around the call', () => {
    it('refuses an unknown operation and a header value with a line break, without sending', async () => {
      const before = server.calls.length;
      const unknown = await callService({
        operation: 'Nope',
        params: [],
      });
      expect(unknown).toMatchObject({ kind: 'invalid', retryable: false });
      expect(unknown.message).toContain('the WSDL offers no operation "Nope"');
      const header = await callService({
        operation: 'GetBalance',
        params: [],
        headers: { 'X-Note': 'a\r\nX-Injected: 1' },
      });
      expect(header).toMatchObject({
        kind: 'invalid',
        problems: [{ field: 'headers.X-Note', message: 'the value contains CR, LF or NUL' }],
      });
      expect(server.calls.length).toBe(before);
    });

    it('refuses an endpoint the network policy forbids before connecting', async () => {
      const outcome = await callService({
        operation: 'GetBalance',
        params: [],
        endpoint: 'http://169.254.169.254/latest/meta-data',
      });
      expect(outcome).toMatchObject({ kind: 'refused', retryable: false });
      expect(outcome.message).toContain('link-local');
    });

    it('refuses a loopback WSDL under the default policy, naming the range', async () => {
      const strict = new SoapClient({ policy: new NetworkPolicy() });
      try {
        const outcome = await strict.call({
          wsdlUrl,
          operation: 'GetBalance',
          timeoutMs: 5_000,
          params: [],
        });
        expect(outcome).toMatchObject({ kind: 'refused', retryable: false });
        expect(outcome.message).toContain(wsdlUrl);
        expect(outcome.message).toContain('loopback');
      } finally {
        strict.close();
      }
    });

    it('tells HTTP errors from faults: 503 retryable, 404 not, a 200 HTML page is not a SOAP answer', async () => {
      const answers: Record<string, [number, string]> = {
        '/503': [503, 'maintenance'],
        '/404': [404, 'not here'],
        '/html': [200, '<html><body>login</body></html>'],
      };
      const plain = http.createServer((req, res) => {
        const [status, body] = answers[req.url ?? ''] ?? [500, ''];
        res.writeHead(status, { 'content-type': 'text/html' }).end(body);
      });
      await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
      const origin = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
      try {
        const call = (path: string) =>
          callService({
            operation: 'GetBalance',
            params: [],
            endpoint: origin + path,
          });
        expect(await call('/503')).toMatchObject({
          kind: 'http_error',
          retryable: true,
          response: { status: 503 },
        });
        expect(await call('/404')).toMatchObject({
          kind: 'http_error',
          retryable: false,
          response: { status: 404 },
        });
        expect(await call('/html')).toMatchObject({ kind: 'invalid_response', retryable: false });
      } finally {
        await closeServer(plain);
      }
    });

    it('reports a closed port as a retryable network error', async () => {
      const probe = http.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const outcome = await callService({
        operation: 'GetBalance',
        params: [],
        endpoint: `http://127.0.0.1:${port}/dotnet`,
      });
      expect(outcome).toMatchObject({ kind: 'network_error', retryable: true });
      expect(outcome.message).toContain('ECONNREFUSED');
    });
  });
});
