/**
 * A SOAP answer in ISO-8859-1 — said by its `Content-Type` charset, or by its XML declaration's
 * encoding when the header names none — is read in that charset: an IVR invocation's variables
 * (from the SOAP result and from the envelope) and `body`, the invocation's log, and a delivery's
 * recorded response read `Montréal`, not `Montr�al` (the soap package read every answer as
 * UTF-8). A UTF-8 answer still reads as before, also under a declaration that says UTF-16. A
 * WSDL document is read the same way.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { createIvrTestApp, type IvrTestApp, type IvrUser } from '../ivr/ivr-app.js';
import { startServer, type TestServer } from '../transport/servers.js';
import { SoapClient } from '../../src/transport/soap-client.js';
import { fixture, LOOPBACK_POLICY } from './soap-servers.js';
import { bindSoapIntegration, createTicketConfig } from './soap-pipeline.js';

const CITY = 'Montréal, Zürich';

/** A CreateTicket answer holding CITY, as `charset` bytes, with or without a declaration. */
function answer(charset: 'latin1' | 'utf8', declaration: string): Buffer {
  const envelope = `${declaration}<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><CreateTicketResponse xmlns="http://callhook.test/tickets/"><CreateTicketResult><TicketId>${CITY}</TicketId></CreateTicketResult></CreateTicketResponse></soap:Body></soap:Envelope>`;
  return Buffer.from(envelope, charset);
}

/** How the remote answers: its Content-Type and body. */
const ANSWERS = {
  /** The charset in the Content-Type. */
  header: {
    type: 'text/xml; charset=ISO-8859-1',
    body: answer('latin1', '<?xml version="1.0"?>'),
  },
  /** No charset in the header: the XML declaration's encoding. */
  declaration: {
    type: 'text/xml',
    body: answer('latin1', '<?xml version="1.0" encoding="ISO-8859-1"?>'),
  },
  /** UTF-8, as before. */
  utf8: {
    type: 'text/xml; charset=utf-8',
    body: answer('utf8', '<?xml version="1.0" encoding="utf-8"?>'),
  },
  /**
   * UTF-8 under a declaration saying UTF-16 (.NET's XmlWriter over a string writes that, then the
   * string goes out as UTF-8): bytes that spell `<?xml` are not UTF-16 (XML 1.0, appendix F).
   */
  utf16Declared: {
    type: 'text/xml',
    body: answer('utf8', '<?xml version="1.0" encoding="utf-16"?>'),
  },
} as const;
type Case = keyof typeof ANSWERS;
const CASES = Object.keys(ANSWERS) as Case[];

/**
 * Serves `/<case>.wsdl`, the tickets WSDL whose port is at `/<case>/dotnet`, and answers a call
 * there as the case says.
 */
function soapRemote(base: () => string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const which = new URL(req.url!, 'http://x').pathname.split(/[/.]/)[1] as Case;
      if (req.method === 'GET') {
        const wsdl = fixture('dotnet-tickets.wsdl', `${base()}/${which}`);
        res.writeHead(200, { 'content-type': 'text/xml' }).end(wsdl);
        return;
      }
      const { type, body } = ANSWERS[which];
      res.writeHead(200, { 'content-type': type }).end(body);
    });
  };
}

describe.each(DIALECTS)('ISO-8859-1 SOAP answers on %s', (backend) => {
  describe('in an IVR invocation', () => {
    let t: IvrTestApp;
    let alice: IvrUser;
    let remote: TestServer;

    beforeAll(async () => {
      remote = await startServer(soapRemote(() => remote.origin));
      t = await createIvrTestApp(backend);
      alice = await t.user();
    });
    afterAll(async () => {
      await t?.close();
      await remote?.close();
    });

    it.each(CASES)('reads variables, body and the log in the charset: %s', async (which) => {
      const id = await t.create(alice.headers, {
        type: 'soap',
        config: createTicketConfig(`${remote.origin}/${which}.wsdl`),
        options: {
          responseVariables: [
            { name: 'ticket', path: 'CreateTicketResult.TicketId' },
            { name: 'raw', path: 'Envelope.Body.CreateTicketResponse.CreateTicketResult.TicketId' },
          ],
        },
      });
      const { answer: got } = await t.invoke(alice.headers, id);
      expect(got).toMatchObject({
        outcome: 'success',
        variables: { ticket: CITY, raw: CITY },
      });
      expect(got.variables['body']).toContain(`<TicketId>${CITY}</TicketId>`);
      const { attempts } = await t.logged(got.deliveryId);
      const response = JSON.parse(attempts[0]!['response'] as string) as { body: string };
      expect(response.body).toContain(`<TicketId>${CITY}</TicketId>`);
    });
  });

  describe('in a delivery', () => {
    let p: Pipeline;
    let remote: TestServer;

    beforeAll(async () => {
      p = await createPipeline(backend);
      remote = await startServer(soapRemote(() => remote.origin));
    });
    afterAll(async () => {
      await p?.close();
      await remote?.close();
    });

    it.each(CASES)('records the response in the charset: %s', async (which) => {
      await bindSoapIntegration(p, {
        name: `Tickets ${which}`,
        config: createTicketConfig(`${remote.origin}/${which}.wsdl`),
      });
      await p.post('/api/v1/events', callEvent(`ev-${which}`));
      expect(await p.worker().runOnce()).toBe(1);
      const items = (await p.get('/api/v1/deliveries')).json().items as { id: string }[];
      const { attemptLog, status } = (await p.get(`/api/v1/deliveries/${items[0]!.id}`)).json();
      expect(status).toBe('succeeded');
      expect(attemptLog[0].response.body).toContain(`<TicketId>${CITY}</TicketId>`);
    });
  });
});

describe('an ISO-8859-1 WSDL document', () => {
  it('is read in the encoding its declaration names', async () => {
    // The tickets WSDL with an enumeration of cities, in ISO-8859-1 bytes, no charset in the header.
    const wsdl = fixture('dotnet-tickets.wsdl', 'http://127.0.0.1')
      .replace(/^<\?xml[^>]*\?>/, '<?xml version="1.0" encoding="ISO-8859-1"?>')
      .replace(
        '<s:element minOccurs="0" maxOccurs="1" name="city" type="s:string" />',
        `<s:element minOccurs="0" maxOccurs="1" name="city"><s:simpleType><s:restriction base="s:string"><s:enumeration value="${CITY}" /></s:restriction></s:simpleType></s:element>`,
      );
    expect(wsdl).toContain(CITY);
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' }).end(Buffer.from(wsdl, 'latin1'));
    });
    const client = new SoapClient({ policy: LOOPBACK_POLICY });
    try {
      const found = await client.describe(`${server.origin}/tickets.wsdl`);
      if (!found.ok) throw new Error(found.failure.message);
      const op = found.description.services[0]!.ports[0]!.operations[0]!;
      const customer = op.params.find((param) => param.name === 'customer')!;
      const address = customer.children!.find((param) => param.name === 'address')!;
      expect(address.children!.find((param) => param.name === 'city')).toMatchObject({
        enum: [CITY],
      });
    } finally {
      client.close();
      await server.close();
    }
  });
});
