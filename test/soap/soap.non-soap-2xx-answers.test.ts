/**
 * A 2xx answer counts as a SOAP success only when it is a SOAP envelope: plain XML, JSON, text
 * and an empty body (for an operation that has an output) are `invalid_response`, which a
 * delivery records as `not-soap`. A one-way operation (no output) may answer with no body.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeOutcome, fromSoapOutcome } from '../../src/delivery/outcome.js';
import { SoapClient } from '../../src/transport/soap-client.js';
import { isSoapEnvelope } from '../../src/transport/soap-envelope.js';
import { closeServer, fixture, LOOPBACK_POLICY } from './soap-servers.js';

describe('2xx SOAP answers that are not SOAP envelopes', () => {
  let server: http.Server;
  let base = '';
  let client: SoapClient;
  let reply = { status: 200, type: 'text/xml', body: '' };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/one-way.wsdl') {
          // Ping without its output: a one-way operation.
          const wsdl = fixture('bare-sms.wsdl', base)
            .replace('<output message="tns:PingOut"/>', '')
            .replace(
              /(<operation name="Ping">[\s\S]*?)<output><soap:body use="literal"\/><\/output>/,
              '$1',
            );
          res.writeHead(200, { 'content-type': 'text/xml' }).end(wsdl);
          return;
        }
        if (req.url === '/tickets.wsdl') {
          res
            .writeHead(200, { 'content-type': 'text/xml' })
            .end(fixture('dotnet-tickets.wsdl', base));
          return;
        }
        res.writeHead(reply.status, { 'content-type': reply.type }).end(reply.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new SoapClient({ policy: LOOPBACK_POLICY });
  });

  afterAll(async () => {
    client?.close();
    await closeServer(server);
  });

  const getBalance = () =>
    client.call({
      wsdlUrl: `${base}/tickets.wsdl`,
      operation: 'GetBalance',
      params: [{ name: 'accountId', value: 'A-1' }],
      endpoint: `${base}/dotnet`,
      timeoutMs: 5_000,
    });

  it('reports plain XML, JSON and text answers as invalid_response, saying what came back', async () => {
    const cases: [typeof reply, string][] = [
      [
        {
          status: 200,
          type: 'text/xml; charset=utf-8',
          body: '<?xml version="1.0"?>\n<status>ok</status>',
        },
        'HTTP 200, but the body is not a SOAP answer (text/xml): <?xml version="1.0"?> <status>ok</status>',
      ],
      [
        // An Envelope outside the SOAP namespaces is not one.
        { status: 200, type: 'text/xml', body: '<Envelope xmlns="urn:other"><Body/></Envelope>' },
        'HTTP 200, but the body is not a SOAP answer (text/xml): <Envelope xmlns="urn:other"><Body/></Envelope>',
      ],
      [
        { status: 201, type: 'application/json', body: '{"status":"ok"}' },
        'HTTP 201, but the body is not a SOAP answer (application/json): {"status":"ok"}',
      ],
      [
        { status: 200, type: 'text/plain', body: 'OK' },
        'HTTP 200, but the body is not a SOAP answer (text/plain): OK',
      ],
      [
        { status: 200, type: 'text/xml', body: '' },
        'HTTP 200 with an empty body, but GetBalance answers with a SOAP envelope',
      ],
    ];
    for (const [answer, message] of cases) {
      reply = answer;
      const outcome = await getBalance();
      expect(outcome, answer.body).toMatchObject({
        kind: 'invalid_response',
        retryable: false,
        message,
      });
      const delivery = fromSoapOutcome(outcome);
      expect(delivery).toMatchObject({ kind: 'not-soap', status: answer.status });
      expect(describeOutcome(delivery)).toBe(message);
    }
  });

  it('quotes the start of the body on one line, cut after a whole character', async () => {
    // An emoji (two UTF-16 units) at 199: a cut at 200 characters would keep half of it.
    reply = {
      status: 200,
      type: 'text/html',
      body: `<p>${'a'.repeat(150)}</p>\n  <p>${'b'.repeat(38)}\u{1F600}${'c'.repeat(50)}</p>`,
    };
    const outcome = await getBalance();
    expect(outcome).toMatchObject({ kind: 'invalid_response' });
    expect(outcome.message).toBe(
      `HTTP 200, but the body is not a SOAP answer (text/html): <p>${'a'.repeat(150)}</p> <p>${'b'.repeat(38)}…`,
    );
    expect(outcome.message).not.toMatch(/[\uD800-\uDFFF]/);
  });

  it('still reads a SOAP envelope, after a BOM, a declaration and a comment, as success', async () => {
    reply = {
      status: 200,
      type: 'text/xml',
      body:
        '\uFEFF<?xml version="1.0"?><!-- gateway --><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>' +
        '<GetBalanceResponse xmlns="http://callhook.test/tickets/"><GetBalanceResult>7.5</GetBalanceResult></GetBalanceResponse>' +
        '</s:Body></s:Envelope>',
    };
    const outcome = await getBalance();
    expect(outcome).toMatchObject({ kind: 'success', result: { GetBalanceResult: '7.5' } });
  });

  it('accepts an empty 202 or 200 for a one-way operation', async () => {
    for (const status of [202, 200]) {
      reply = { status, type: 'text/xml', body: '' };
      const outcome = await client.call({
        wsdlUrl: `${base}/one-way.wsdl`,
        operation: 'Ping',
        params: [{ name: 'PingText', value: 'hello' }],
        endpoint: `${base}/sms`,
        timeoutMs: 5_000,
      });
      expect(outcome, outcome.message).toMatchObject({ kind: 'success', result: null });
    }
  });
});

describe('telling an envelope from another page', () => {
  it('reads the root element past any prolog, and answers a non-envelope at once', () => {
    const ns = 'http://schemas.xmlsoap.org/soap/envelope/';
    expect(
      isSoapEnvelope(
        `\uFEFF<?xml version="1.0"?>\n<!-- a -->\n<!DOCTYPE x>\n  <s:Envelope xmlns:s="${ns}"><s:Body/></s:Envelope>`,
      ),
    ).toBe(true);
    expect(isSoapEnvelope(`<Envelope xmlns="${ns}"/>`)).toBe(true);
    expect(isSoapEnvelope(`<s:Envelope xmlns:s="urn:other"/>`)).toBe(false);
    // A proxy's page: whitespace after a doctype made one pattern backtrack exponentially (40
    // characters held the event loop for about 48 s). The test's own timeout would catch it.
    const page = `<!DOCTYPE html>\n${' \n'.repeat(40)}<html><body>signed out</body></html>`;
    const started = performance.now();
    expect(isSoapEnvelope(page)).toBe(false);
    expect(isSoapEnvelope(`${' '.repeat(100_000)}x`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
