/**
 * A SOAP answer larger than 16 MiB (MAX_SOAP_RESPONSE_BYTES) is read no further, and it is not
 * retried: the remote answered (and may have acted on the request), and sending the same request
 * again meets the same answer. A delivery fails at its first attempt saying so; an IVR invocation
 * answers `failure` with the answer's status and the same reason. A request envelope over the cap
 * is never sent.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeOutcome, endpointHealth, fromSoapOutcome } from '../../src/delivery/outcome.js';
import { SoapClient } from '../../src/transport/soap-client.js';
import { MAX_SOAP_RESPONSE_BYTES } from '../../src/transport/soap-http.js';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { createIvrTestApp, type IvrTestApp, type IvrUser } from '../ivr/ivr-app.js';
import { startServer, type TestServer } from '../transport/servers.js';
import { fixture, LOOPBACK_POLICY } from './soap-servers.js';
import { bindSoapIntegration, createTicketConfig } from './soap-pipeline.js';

const REASON = 'HTTP 200, but the answer is larger than 16 MiB';

/** A well-formed SOAP answer to GetBalance/CreateTicket, one MiB over the cap. */
const OVERSIZE_ANSWER = Buffer.concat([
  Buffer.from(
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
      '<CreateTicketResponse xmlns="http://callhook.test/tickets/"><CreateTicketResult><TicketId>',
  ),
  Buffer.alloc(MAX_SOAP_RESPONSE_BYTES + 1024 * 1024, 'x'),
  Buffer.from(
    '</TicketId></CreateTicketResult></CreateTicketResponse></soap:Body></soap:Envelope>',
  ),
]);

/** Serves the tickets WSDL, whose port address is its own `/dotnet`, which answers too much. */
interface OversizeHost {
  origin: string;
  wsdlUrl: string;
  /** POSTs `/dotnet` received, whole. */
  calls(): number;
  close(): Promise<void>;
}

async function startOversizeHost(): Promise<OversizeHost> {
  let calls = 0;
  let origin = '';
  const server: TestServer = await startServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/tickets.wsdl') {
        res
          .writeHead(200, { 'content-type': 'text/xml; charset=utf-8' })
          .end(fixture('dotnet-tickets.wsdl', origin));
        return;
      }
      calls += 1;
      res
        .writeHead(200, { 'content-type': 'text/xml; charset=utf-8', 'x-answer': 'oversize' })
        .end(OVERSIZE_ANSWER);
    });
  });
  origin = server.origin;
  return {
    origin,
    wsdlUrl: `${origin}/tickets.wsdl`,
    calls: () => calls,
    close: () => server.close(),
  };
}

describe('a SOAP call answered with more than 16 MiB', () => {
  let host: OversizeHost;
  let client: SoapClient;

  beforeAll(async () => {
    host = await startOversizeHost();
    client = new SoapClient({ policy: LOOPBACK_POLICY });
  });

  afterAll(async () => {
    client?.close();
    await host?.close();
  });

  const createTicket = (phone: string) =>
    client.call({
      wsdlUrl: host.wsdlUrl,
      operation: 'CreateTicket',
      params: [
        { name: 'phone', value: phone },
        { name: 'priority', value: '1' },
      ],
      timeoutMs: 10_000,
    });

  it('is response_too_large, not retryable, with the status and headers of the answer', async () => {
    const outcome = await createTicket('+15551234567');

    expect(outcome).toMatchObject({
      kind: 'response_too_large',
      retryable: false,
      message: REASON,
      head: { status: 200, headers: { 'x-answer': 'oversize' } },
    });
    expect(outcome.request?.body).toContain('+15551234567');
    const delivery = fromSoapOutcome(outcome);
    expect(delivery).toMatchObject({ kind: 'response-too-large', status: 200 });
    expect(describeOutcome(delivery)).toBe(REASON);
    // The remote answered: its circuit sees it up.
    expect(endpointHealth(delivery)).toBe('up');
  });

  it('does not send a request envelope over 16 MiB, and says so', async () => {
    const calls = host.calls();

    const outcome = await createTicket('x'.repeat(MAX_SOAP_RESPONSE_BYTES + 1));

    expect(outcome).toMatchObject({
      kind: 'invalid',
      retryable: false,
      message: 'the envelope was not sent: the request is larger than 16 MiB',
      problems: [
        {
          field: 'config.params',
          message: 'the envelope was not sent: the request is larger than 16 MiB',
        },
      ],
    });
    expect(host.calls()).toBe(calls);
  });
});

describe.each(DIALECTS)('a SOAP delivery on %s answered with more than 16 MiB', (backend) => {
  let p: Pipeline;
  let host: OversizeHost;

  beforeAll(async () => {
    p = await createPipeline(backend);
    host = await startOversizeHost();
  });

  afterAll(async () => {
    await p?.close();
    await host?.close();
  });

  it('fails at its first attempt, saying the answer was larger than 16 MiB', async () => {
    const integrationId = await bindSoapIntegration(p, {
      name: 'Tickets',
      config: createTicketConfig(host.wsdlUrl),
    });

    expect((await p.post('/api/v1/events', callEvent('ev-oversize'))).statusCode).toBe(202);
    expect(await p.worker().runOnce()).toBe(1);

    const [delivery] = (await p.get(`/api/v1/deliveries?integrationId=${integrationId}`)).json()
      .items;
    expect(delivery).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastStatus: 200,
      lastError: `${REASON} (not retried)`,
    });
    const { attemptLog } = (await p.get(`/api/v1/deliveries/${delivery.id}`)).json();
    expect(attemptLog).toHaveLength(1);
    expect(attemptLog[0]).toMatchObject({
      error: REASON,
      response: { status: 200, body: '', bodyTruncated: true },
    });
    expect(host.calls()).toBe(1);
  });
});

describe('IVR invoke of a SOAP integration answered with more than 16 MiB', () => {
  let t: IvrTestApp;
  let alice: IvrUser;
  let host: OversizeHost;

  beforeAll(async () => {
    t = await createIvrTestApp('sqlite');
    alice = await t.user();
    host = await startOversizeHost();
  });

  afterAll(async () => {
    await t?.close();
    await host?.close();
  });

  it('answers failure with the status and the reason, sending once', async () => {
    const id = await t.create(alice.headers, {
      type: 'soap',
      config: createTicketConfig(host.wsdlUrl),
      options: { responseVariables: [{ name: 'ticket', path: 'CreateTicketResult.TicketId' }] },
    });

    const { statusCode, answer, body } = await t.invoke(alice.headers, id, { timeoutMs: 10_000 });

    expect(statusCode, body).toBe(200);
    expect(answer).toMatchObject({
      outcome: 'failure',
      status: 200,
      reason: REASON,
      variables: { ticket: '', status: '200', body: '' },
    });
    expect(host.calls()).toBe(1);
  });
});
