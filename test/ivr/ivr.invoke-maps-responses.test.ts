/**
 * An IVR invokes integrations against real local servers and gets the answer as variables: JSON,
 * XML and text over HTTP, a SOAP service (the node `soap` package's server), with the IVR's own
 * variables rendered into the request, `status` and `body` always present, and a missing path
 * giving the default.
 */
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, readRequest, type TestServer } from '../transport/servers.js';
import { startNodeSoapServer, type NodeSoapServer } from '../soap/soap-servers.js';
import { DIALECTS } from '../helpers/store.js';
import { createIvrTestApp, type IvrTestApp } from './ivr-app.js';

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

describe.each(DIALECTS)('IVR invoke maps responses to variables on %s', (backend) => {
  let t: IvrTestApp;
  let server: TestServer;
  let soap: NodeSoapServer;
  let alice: { id: string; headers: { authorization: string } };
  const seen: Seen[] = [];

  beforeAll(async () => {
    t = await createIvrTestApp(backend);
    alice = await t.user();
    soap = await startNodeSoapServer();
    server = await startServer(async (req, res) => {
      const body = await readRequest(req);
      seen.push({ url: req.url!, headers: req.headers, body });
      const url = new URL(req.url!, 'http://x');
      const account = url.searchParams.get('account') ?? '';
      if (url.pathname === '/json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            customer: { account, balance: '12.50', name: 'Ana' },
            items: [{ id: 'ORD-1' }, { id: 'ORD-2' }],
          }),
        );
      } else if (url.pathname === '/xml') {
        res
          .writeHead(200, { 'content-type': 'application/xml' })
          .end(
            `<?xml version="1.0"?><r><account id="${account}"><balance currency="EUR">7.25</balance></account></r>`,
          );
      } else if (url.pathname === '/latin1-json') {
        // A legacy CRM: its charset is ISO-8859-1, and its bytes are (é is one byte, 0xE9).
        res
          .writeHead(200, { 'content-type': 'application/json; charset=ISO-8859-1' })
          .end(Buffer.from('{"city": "Montréal", "name": "Zoë"}', 'latin1'));
      } else if (url.pathname === '/latin1-xml') {
        // No charset in the Content-Type: the XML declaration says the encoding.
        res
          .writeHead(200, { 'content-type': 'text/xml' })
          .end(
            Buffer.from(
              '<?xml version="1.0" encoding="ISO-8859-1"?><r><city>Montréal</city></r>',
              'latin1',
            ),
          );
      } else if (url.pathname === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('open until 18:00\n');
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such page"}');
      }
    });
  });

  afterAll(async () => {
    await t?.close();
    await server?.close();
    await soap?.close();
  });

  it('maps a JSON answer, renders {{ivr.<name>}} into the request, and gives the default for a missing path', async () => {
    const id = await t.create(alice.headers, {
      config: {
        method: 'POST',
        url: `${server.origin}/json?account={{ivr.account}}`,
        headers: 'Content-Type: application/json\nAuthorization: Bearer s3cr3t-token',
        body: '{"account": "{{ivr.account}}", "phone": "{{call.phone}}", "campaign": "{{campaign.name}}", "campaignId": "{{call.campaignId}}"}',
        responseEncoding: 'json',
      },
      options: {
        responseVariables: [
          { name: 'balance', path: 'customer.balance' },
          { name: 'lastOrder', path: 'items.1.id' },
          { name: 'overdraft', path: 'customer.overdraft', default: 'none' },
          { name: 'missingNoDefault', path: 'customer.email' },
        ],
      },
    });
    const { statusCode, answer } = await t.invoke(alice.headers, id, {
      call: { id: 'c-1', phone: '+15551234567' },
      contact: { id: 'k-1', phone: '+15551234567' },
      campaign: { id: 'camp-1', name: 'Spring' },
      variables: { account: '0042' },
    });
    expect(statusCode).toBe(200);
    expect(answer).toMatchObject({
      outcome: 'success',
      status: 200,
      variables: {
        balance: '12.50',
        lastOrder: 'ORD-2',
        overdraft: 'none',
        missingNoDefault: '',
        status: '200',
      },
    });
    expect(answer.reason).toBeUndefined();
    expect(JSON.parse(answer.variables['body']!)).toMatchObject({ customer: { account: '0042' } });
    expect(answer.durationMs).toBeGreaterThan(0);
    const request = seen.at(-1)!;
    expect(request.url).toBe('/json?account=0042');
    expect(JSON.parse(request.body)).toEqual({
      account: '0042',
      phone: '+15551234567',
      campaign: 'Spring',
      // The call has no campaignId of its own: the invocation's campaign is the call's.
      campaignId: 'camp-1',
    });
    expect(request.headers['idempotency-key']).toBe(answer.deliveryId);
  });

  it('maps an XML answer from the root element, attributes included', async () => {
    const id = await t.create(alice.headers, {
      config: {
        method: 'GET',
        url: `${server.origin}/xml?account={{ivr.account}}`,
        responseEncoding: 'xml',
      },
      options: {
        responseVariables: [
          { name: 'balance', path: 'r.account.balance' },
          { name: 'currency', path: 'r.account.balance.@currency' },
          { name: 'account', path: 'r.account.@id' },
          { name: 'limit', path: 'r.account.limit', default: '100' },
        ],
      },
    });
    const { answer } = await t.invoke(alice.headers, id, { variables: { account: 7 } });
    expect(answer).toMatchObject({
      outcome: 'success',
      status: 200,
      variables: { balance: '7.25', currency: 'EUR', account: '7', limit: '100', status: '200' },
    });
    expect(answer.variables['body']).toContain('<balance currency="EUR">7.25</balance>');
  });

  it('reads an answer in the charset it declares (Content-Type, or the XML declaration)', async () => {
    const json = await t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/latin1-json`, responseEncoding: 'json' },
      options: {
        responseVariables: [
          { name: 'city', path: 'city' },
          { name: 'name', path: 'name' },
        ],
      },
    });
    const fromJson = (await t.invoke(alice.headers, json)).answer;
    expect(fromJson).toMatchObject({
      outcome: 'success',
      variables: { city: 'Montréal', name: 'Zoë', body: '{"city": "Montréal", "name": "Zoë"}' },
    });
    expect(fromJson.reason).toBeUndefined();
    // The attempt log shows the same text.
    const { attempts } = await t.logged(fromJson.deliveryId);
    expect(JSON.stringify(attempts[0])).toContain('Montréal');

    const xml = await t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/latin1-xml`, responseEncoding: 'xml' },
      options: { responseVariables: [{ name: 'city', path: 'r.city' }] },
    });
    const fromXml = (await t.invoke(alice.headers, xml)).answer;
    expect(fromXml).toMatchObject({ outcome: 'success', variables: { city: 'Montréal' } });
  });

  it('gives the whole body for text', async () => {
    const id = await t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/text`, responseEncoding: 'text' },
      options: { responseVariables: [{ name: 'hours', path: '' }] },
    });
    const { answer } = await t.invoke(alice.headers, id);
    expect(answer).toMatchObject({
      outcome: 'success',
      variables: { hours: 'open until 18:00', body: 'open until 18:00\n', status: '200' },
    });
  });

  it('uses an edit at the next invocation: the row read a moment before is not kept', async () => {
    const id = await t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/nope`, responseEncoding: 'text' },
    });
    expect((await t.invoke(alice.headers, id)).answer.status).toBe(404);
    const fixed = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${id}`,
      headers: alice.headers,
      payload: { config: { url: `${server.origin}/text` } },
    });
    expect(fixed.statusCode, fixed.body).toBe(200);
    expect((await t.invoke(alice.headers, id)).answer).toMatchObject({
      outcome: 'success',
      status: 200,
    });
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/integrations/${id}`,
      headers: alice.headers,
    });
    expect(deleted.statusCode).toBe(204);
    expect((await t.invoke(alice.headers, id)).statusCode).toBe(404);
  });

  it('answers failure with the status for a non-success status, variables still read from the body', async () => {
    const id = await t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/nope`, responseEncoding: 'json' },
      options: {
        responseVariables: [
          { name: 'message', path: 'error' },
          { name: 'balance', path: 'customer.balance', default: '0' },
        ],
      },
    });
    const { statusCode, answer } = await t.invoke(alice.headers, id);
    expect(statusCode).toBe(200);
    expect(answer).toMatchObject({
      outcome: 'failure',
      status: 404,
      reason: 'HTTP 404 is not a success status',
      variables: { message: 'no such page', balance: '0', status: '404' },
    });
  });

  it('counts a status listed in successStatuses as success', async () => {
    const id = await t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/nope`, responseEncoding: 'json' },
      options: { successStatuses: [200, 404] },
    });
    expect((await t.invoke(alice.headers, id)).answer.outcome).toBe('success');
  });

  it('maps a SOAP result, and the envelope text exactly for paths from Envelope', async () => {
    const id = await t.create(alice.headers, {
      type: 'soap',
      config: {
        wsdlUrl: `${soap.base}/dotnet?wsdl`,
        operation: 'GetBalance',
        service: 'Tickets',
        port: 'TicketsSoap',
        params: [{ name: 'accountId', value: '{{ivr.account}}' }],
      },
      options: {
        responseVariables: [
          { name: 'balance', path: 'GetBalanceResult' },
          {
            name: 'exact',
            path: 'Envelope.Body.GetBalanceResponse.GetBalanceResult',
          },
          { name: 'currency', path: 'Currency', default: 'EUR' },
        ],
      },
    });
    const { answer } = await t.invoke(alice.headers, id, { variables: { account: 'A-9' } });
    expect(answer, JSON.stringify(answer)).toMatchObject({
      outcome: 'success',
      status: 200,
      variables: { balance: '12.50', exact: '12.50', currency: 'EUR', status: '200' },
    });
    expect(answer.variables['body']).toContain('GetBalanceResponse');
    expect(soap.calls.at(-1)).toMatchObject({
      operation: 'GetBalance',
      args: { accountId: 'A-9' },
    });
  });

  it('answers failure with the fault for a SOAP fault', async () => {
    const id = await t.create(alice.headers, {
      type: 'soap',
      config: {
        wsdlUrl: `${soap.base}/dotnet?wsdl`,
        operation: 'Fail',
        service: 'Tickets',
        port: 'TicketsSoap',
        params: [{ name: 'kind', value: 'client' }],
      },
      options: {
        responseVariables: [
          { name: 'fault', path: 'Envelope.Body.Fault.faultstring', default: '-' },
          { name: 'balance', path: 'GetBalanceResult', default: '0' },
        ],
      },
    });
    const { answer } = await t.invoke(alice.headers, id);
    expect(answer).toMatchObject({
      outcome: 'failure',
      variables: { fault: 'account number is not valid', balance: '0' },
    });
    expect(answer.reason).toMatch(/SOAP fault .*account number is not valid/);
  });
});
