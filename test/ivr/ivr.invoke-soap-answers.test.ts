/**
 * What an IVR gets from SOAP answers a stub service writes by hand (the .NET-style WSDL, its
 * GetBalance result typed per WSDL path): typed values as written, a fault's reason with its code once,
 * and a 2xx answer that is not a SOAP envelope reported as a failure that says what came back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../soap/soap-servers.js';
import { readRequest, startServer, type TestServer } from '../transport/servers.js';
import { createIvrTestApp, type IvrTestApp, type IvrUser } from './ivr-app.js';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
const envelope11 = (inner: string) =>
  `<?xml version="1.0"?><soap:Envelope xmlns:soap="${SOAP11}"><soap:Body>${inner}</soap:Body></soap:Envelope>`;
const envelope12 = (inner: string) =>
  `<?xml version="1.0"?><env:Envelope xmlns:env="${SOAP12}"><env:Body>${inner}</env:Body></env:Envelope>`;
const balance = (value: string) =>
  envelope11(
    `<GetBalanceResponse xmlns="http://callhook.test/tickets/"><GetBalanceResult>${value}</GetBalanceResult></GetBalanceResponse>`,
  );

describe('IVR invoke of a SOAP service reads what it answered', () => {
  let t: IvrTestApp;
  let alice: IvrUser;
  let server: TestServer;
  let reply = { status: 200, type: 'text/xml', body: '' };

  beforeAll(async () => {
    t = await createIvrTestApp('sqlite');
    alice = await t.user();
    server = await startServer(async (req, res) => {
      await readRequest(req);
      const url = new URL(req.url ?? '/', server.origin);
      if (req.method === 'GET') {
        // /datetime.wsdl, /date.wsdl: GetBalanceResult typed s:dateTime, s:date.
        const type = url.pathname.slice(1).replace(/\.wsdl$/, '');
        const wsdl = fixture('dotnet-tickets.wsdl', server.origin);
        res
          .writeHead(200, { 'content-type': 'text/xml' })
          .end(
            type === 'decimal'
              ? wsdl
              : wsdl.replace(
                  'name="GetBalanceResult" type="s:decimal"',
                  `name="GetBalanceResult" type="s:${type}"`,
                ),
          );
        return;
      }
      res.writeHead(reply.status, { 'content-type': reply.type }).end(reply.body);
    });
  });

  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  const integration = (type: string, port = 'TicketsSoap') =>
    t.create(alice.headers, {
      type: 'soap',
      config: {
        wsdlUrl: `${server.origin}/${type}.wsdl`,
        service: 'Tickets',
        port,
        operation: 'GetBalance',
        params: [{ name: 'accountId', value: 'A-1' }],
      },
      options: { responseVariables: [{ name: 'when', path: 'GetBalanceResult', default: '-' }] },
    });

  // The soap package would type these: 9007199254740993 rounded to …992, 007 as 7, 12abc as 12,
  // x as NaN, 12.50 as 12.5, 1 as true, the +01:00 time moved to 09:00Z, a date as midnight UTC,
  // and `soon` dropped for the default.
  it.each([
    ['long', '9007199254740993'],
    ['long', '007'],
    ['long', '12abc'],
    ['int', 'x'],
    ['decimal', '12.50'],
    ['decimal', '1,5'],
    ['double', 'INF'],
    ['boolean', '1'],
    ['dateTime', '2026-11-27T10:00:00+01:00'],
    ['dateTime', 'soon'],
    ['date', '2026-11-27'],
  ])('reads an xs:%s result %j as the service wrote it', async (type, value) => {
    reply = { status: 200, type: 'text/xml', body: balance(value) };
    const read = await t.invoke(alice.headers, await integration(type));
    expect(read.answer, read.body).toMatchObject({
      outcome: 'success',
      variables: { when: value },
    });
  });

  it("gives a fault's code once in the reason, with a SOAP 1.2 subcode", async () => {
    reply = {
      status: 500,
      type: 'text/xml',
      body: envelope11(
        '<soap:Fault><faultcode>soap:Server</faultcode><faultstring>db down</faultstring></soap:Fault>',
      ),
    };
    const v11 = await t.invoke(alice.headers, await integration('decimal'));
    expect(v11.answer).toMatchObject({
      outcome: 'failure',
      reason: 'SOAP fault soap:Server: db down',
    });

    reply = {
      status: 500,
      type: 'application/soap+xml',
      body: envelope12(
        '<env:Fault><env:Code><env:Value>env:Receiver</env:Value><env:Subcode><env:Value>x:Db</env:Value></env:Subcode></env:Code>' +
          '<env:Reason><env:Text xml:lang="en">db down</env:Text></env:Reason></env:Fault>',
      ),
    };
    const v12 = await t.invoke(alice.headers, await integration('decimal', 'TicketsSoap12'));
    expect(v12.answer).toMatchObject({
      outcome: 'failure',
      reason: 'SOAP fault env:Receiver (x:Db): db down',
    });
  });

  it('answers failure, saying what came back, for a 2xx answer that is not a SOAP envelope', async () => {
    const id = await integration('decimal');
    const cases: [typeof reply, RegExp][] = [
      [
        { status: 200, type: 'text/xml', body: '<?xml version="1.0"?><status>ok</status>' },
        /^HTTP 200, but the body is not a SOAP answer \(text\/xml\): <\?xml version="1\.0"\?><status>ok<\/status>$/,
      ],
      [
        { status: 200, type: 'text/plain', body: 'OK' },
        /^HTTP 200, but the body is not a SOAP answer \(text\/plain\): OK$/,
      ],
      [
        { status: 200, type: 'application/json', body: '{"a":1}' },
        /^HTTP 200, but the body is not a SOAP answer \(application\/json\): \{"a":1\}$/,
      ],
      [
        { status: 200, type: 'text/xml', body: '' },
        /^HTTP 200 with an empty body, but GetBalance answers with a SOAP envelope$/,
      ],
    ];
    for (const [answer, reason] of cases) {
      reply = answer;
      const { answer: got } = await t.invoke(alice.headers, id);
      expect(got.outcome, `${answer.type} ${JSON.stringify(answer.body)}`).toBe('failure');
      expect(got.reason).toMatch(reason);
      expect(got.variables['status']).toBe('200');
    }
  });
});
