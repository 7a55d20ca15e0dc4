/**
 * Callhook's SOAP client against PHP's SoapServer (ext-soap): a server not built on the node
 * `soap` package, so what "arrives intact" is judged by another implementation. PHP records what
 * it decoded; the tests compare it with what was sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoapClient, type SoapOutcome } from '../../src/transport/soap-client.js';
import { LOOPBACK_POLICY, startPhpSoapServer, type PhpSoapServer } from './soap-servers.js';

/** Characters that break hand-built XML, a CDATA terminator, and non-Latin text. */
const AWKWARD =
  'a < b && c > d ]]> <![CDATA[x]]> "q" \'s\' — Zoë Ångström, 日本語, Ελληνικά, עברית';

// Inside one describe: its afterAll closes the servers before the leak guard's runs.
describe("SOAP calls to PHP's SoapServer", () => {
  let php: PhpSoapServer;
  let client: SoapClient;

  beforeAll(async () => {
    php = await startPhpSoapServer();
    client = new SoapClient({ policy: LOOPBACK_POLICY });
  });

  afterAll(async () => {
    client?.close();
    await php?.close();
  });

  function expectSuccess(outcome: SoapOutcome): Extract<SoapOutcome, { kind: 'success' }> {
    if (outcome.kind !== 'success') {
      throw new Error(
        `expected success, got ${outcome.kind}: ${outcome.message}\n${outcome.response?.body ?? ''}`,
      );
    }
    return outcome;
  }

  function lastRecord(operation: string) {
    const found = php
      .records()
      .filter((record) => record.operation === operation)
      .at(-1);
    if (found === undefined) throw new Error(`PHP recorded no ${operation}`);
    return found;
  }

  describe('a .NET-style document/literal wrapped service (SOAP 1.1 and 1.2 ports)', () => {
    it('delivers nested and list parameters, and awkward text, intact over SOAP 1.1', async () => {
      const outcome = expectSuccess(
        await client.call({
          wsdlUrl: `${php.base}/dotnet?wsdl`,
          operation: 'CreateTicket',
          timeoutMs: 5_000,
          // Listed out of schema order on purpose: the envelope follows the schema.
          params: [
            { name: 'customer.address.city', value: 'Köln' },
            { name: 'note', value: AWKWARD },
            { name: 'priority', value: '3' },
            { name: 'customer.name', value: AWKWARD },
            { name: 'phone', value: '+15551234567' },
            { name: 'tags.string.0', value: 'vip' },
            { name: 'tags.string.1', value: '<urgent>' },
          ],
        }),
      );
      const record = lastRecord('CreateTicket');
      expect(record.args).toEqual({
        phone: '+15551234567',
        note: AWKWARD,
        priority: 3,
        customer: { name: AWKWARD, address: { city: 'Köln' } },
        tags: { string: ['vip', '<urgent>'] },
      });
      expect(record.soapAction).toBe('"http://callhook.test/tickets/CreateTicket"');
      expect(record.contentType).toMatch(/^text\/xml/);
      expect(outcome.request.soapVersion).toBe('1.1');
      expect(outcome.request.port).toBe('TicketsSoap');
      // The parsed result is what IVR variables read.
      const result = outcome.result as {
        CreateTicketResult: { TicketId: string; Received: string };
      };
      expect(result.CreateTicketResult.TicketId).toBe('PHP-1');
      expect(JSON.parse(result.CreateTicketResult.Received)).toMatchObject({ note: AWKWARD });
    });

    it('speaks SOAP 1.2 on the Soap12 port: action in the Content-Type, no SOAPAction header', async () => {
      const outcome = expectSuccess(
        await client.call({
          wsdlUrl: `${php.base}/dotnet?wsdl`,
          port: 'TicketsSoap12',
          operation: 'CreateTicket',
          timeoutMs: 5_000,
          params: [
            { name: 'note', value: AWKWARD },
            { name: 'priority', value: '1' },
          ],
        }),
      );
      const record = lastRecord('CreateTicket');
      expect(record.args).toEqual({ note: AWKWARD, priority: 1 });
      expect(record.soapAction).toBeNull();
      expect(record.contentType).toBe(
        'application/soap+xml; charset=utf-8; action="http://callhook.test/tickets/CreateTicket"',
      );
      expect(outcome.request.body).toContain('http://www.w3.org/2003/05/soap-envelope');
    });

    it('reports a soap:Client fault as not retryable, with code and string', async () => {
      const outcome = await client.call({
        wsdlUrl: `${php.base}/dotnet?wsdl`,
        operation: 'Fail',
        timeoutMs: 5_000,
        params: [{ name: 'kind', value: 'client' }],
      });
      expect(outcome).toMatchObject({
        kind: 'fault',
        retryable: false,
        fault: { code: 'SOAP-ENV:Client', string: 'account number is not valid' },
        response: { status: 500 },
      });
    });

    it('reports a Receiver fault (SOAP 1.2) as retryable', async () => {
      const outcome = await client.call({
        wsdlUrl: `${php.base}/dotnet?wsdl`,
        port: 'TicketsSoap12',
        operation: 'Fail',
        timeoutMs: 5_000,
        params: [{ name: 'kind', value: 'server' }],
      });
      expect(outcome).toMatchObject({
        kind: 'fault',
        retryable: true,
        fault: { code: 'env:Receiver', string: 'database is down, try later' },
      });
    });
  });

  describe('an rpc/encoded service', () => {
    it('sends one accessor per part, a nested part included, with the rpc SOAPAction', async () => {
      const outcome = expectSuccess(
        await client.call({
          wsdlUrl: `${php.base}/rpc?wsdl`,
          operation: 'ChargeAccount',
          timeoutMs: 5_000,
          params: [
            { name: 'account', value: 'A-17' },
            { name: 'amount', value: '12.50' },
            { name: 'memo', value: AWKWARD },
            { name: 'payer.name', value: 'Zoë' },
            { name: 'payer.phone', value: '+4930123' },
          ],
        }),
      );
      const record = lastRecord('ChargeAccount');
      expect(record.args).toEqual({
        account: 'A-17',
        amount: '12.50',
        memo: AWKWARD,
        payer: { name: 'Zoë', phone: '+4930123' },
      });
      expect(record.soapAction).toBe('"urn:callhook:billing#ChargeAccount"');
      // Typed rpc/encoded values come back as plain values for IVR variables.
      expect(outcome.result).toMatchObject({ receipt: 'R-A-17' });
    });
  });

  describe('a WCF-style SOAP 1.2 service split over imported WSDL and XSD documents', () => {
    it('follows the imports and calls it, with an enumeration inside a nested element', async () => {
      const outcome = expectSuccess(
        await client.call({
          wsdlUrl: `${php.base}/wcf?wsdl`,
          operation: 'LookupCustomer',
          timeoutMs: 5_000,
          params: [
            { name: 'phone', value: AWKWARD },
            { name: 'filter.status', value: 'Active' },
          ],
        }),
      );
      const record = lastRecord('LookupCustomer');
      expect(record.args).toEqual({ phone: AWKWARD, filter: { status: 'Active' } });
      expect(record.contentType).toContain(
        'action="http://tempuri.org/ICustomerService/LookupCustomer"',
      );
      expect(outcome.result).toMatchObject({
        LookupCustomerResult: { name: 'Zoë Ångström', balance: '99.95' },
      });
    });

    it('reports a Sender fault as not retryable', async () => {
      const outcome = await client.call({
        wsdlUrl: `${php.base}/wcf?wsdl`,
        operation: 'Reject',
        timeoutMs: 5_000,
        params: [{ name: 'reason', value: 'closed account' }],
      });
      expect(outcome).toMatchObject({
        kind: 'fault',
        retryable: false,
        fault: { code: 'Sender', string: 'rejected: closed account' },
      });
    });
  });

  describe('a document/literal bare service', () => {
    it('sends the part element itself, named differently from the operation', async () => {
      expectSuccess(
        await client.call({
          wsdlUrl: `${php.base}/bare?wsdl`,
          operation: 'SendSms',
          timeoutMs: 5_000,
          params: [
            { name: 'to', value: '+15551234567' },
            { name: 'text', value: AWKWARD },
          ],
        }),
      );
      expect(lastRecord('SendSms').args).toEqual({ to: '+15551234567', text: AWKWARD });
    });

    it('sends a simple-typed body element from its one parameter', async () => {
      const outcome = expectSuccess(
        await client.call({
          wsdlUrl: `${php.base}/bare?wsdl`,
          operation: 'Ping',
          timeoutMs: 5_000,
          params: [{ name: 'PingText', value: AWKWARD }],
        }),
      );
      expect(lastRecord('Ping').args).toBe(AWKWARD);
      expect(outcome.result).toBe(`pong: ${AWKWARD}`);
    });
  });
});
