/**
 * SOAP parameters marked secret are masked in the request the test endpoint shows and in the
 * delivery attempt log, whatever characters they hold: the soap package writes tab, CR and LF as
 * `&#x9;`, `&#xD;`, `&#xA;` and a `<![CDATA[…]]>` value as it is, and a secret must be found in
 * that form too, both written in the parameter and rendered from a token.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MASK } from '../../src/domain/integration.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { startNodeSoapServer, type NodeSoapServer } from './soap-servers.js';

const LITERAL = 'line one SECRET\r\nline\ttwo SECRET';
const CDATA = '<![CDATA[cdata SECRET <x>]]>';
const PIN = '12\t34\n56';

describe('secret SOAP parameters with tabs, line breaks and CDATA', () => {
  let p: Pipeline | undefined;
  let soap: NodeSoapServer | undefined;
  afterEach(async () => {
    await p?.close();
    await soap?.close();
    p = soap = undefined;
  });

  const setUp = async () => {
    p = await createPipeline('sqlite');
    soap = await startNodeSoapServer();
    const created = await p.post('/api/v1/integrations', {
      name: 'Tickets',
      type: 'soap',
      config: {
        wsdlUrl: `${soap.base}/dotnet?wsdl`,
        service: 'Tickets',
        port: 'TicketsSoap',
        operation: 'CreateTicket',
        params: [
          { name: 'note', value: LITERAL, secret: true },
          { name: 'phone', value: 'pin {{contact.custom.pin}}', secret: true },
          { name: 'customer.phone', value: CDATA, secret: true },
          { name: 'priority', value: '1' },
        ],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    return { p, soap, id: created.json<{ id: string }>().id };
  };

  const expectMasked = (body: string) => {
    expect(body).not.toContain('SECRET');
    expect(body).not.toMatch(/12(\t|&#x9;)34/);
    expect(body.split(`>${MASK}<`)).toHaveLength(4);
    // The value that is not secret is left as it is.
    expect(body).toMatch(/<(\w+:)?priority>1<\/(\w+:)?priority>/);
  };

  it('masks them in the test endpoint, previewed and sent, while the server gets them intact', async () => {
    const { p, soap, id } = await setUp();
    const sample = { contact: { custom: { pin: PIN } } };
    const preview = await p.post(`/api/v1/integrations/${id}/test`, { sample });
    expect(preview.statusCode, preview.body).toBe(200);
    expectMasked(preview.json<{ request: { body: string } }>().request.body);

    const sent = await p.post(`/api/v1/integrations/${id}/test`, { sample, send: true });
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json()).toMatchObject({ outcome: { kind: 'response', success: true } });
    expectMasked(sent.json<{ request: { body: string } }>().request.body);
    // The headers the SOAP client sets describe the request: shown as sent, not masked.
    for (const answer of [preview, sent]) {
      const headers = new Map(
        answer.json<{ request: { headers: [string, string][] } }>().request.headers,
      );
      expect(headers.get('Host')).toBe(new URL(soap.base).host);
      expect(headers.get('Content-Length')).toMatch(/^\d+$/);
    }
    expect(soap.calls.at(-1)?.args).toMatchObject({
      note: LITERAL,
      phone: `pin ${PIN}`,
      customer: { phone: 'cdata SECRET <x>' },
    });
  });

  it('masks them in the delivery attempt log', async () => {
    const { p, id } = await setUp();
    const headers = p.dialer.headers;
    const bound = await p.t.app.inject({
      method: 'PUT',
      url: '/api/v1/campaigns/spring/bindings',
      headers,
      payload: { bindings: [{ integrationId: id, on: ['call.ended'] }] },
    });
    expect(bound.statusCode, bound.body).toBe(200);
    const event = callEvent('ev-secret', {
      contact: { id: 'k-3', phone: '+15551234567', custom: { pin: PIN } },
    });
    expect((await p.post('/api/v1/events', event)).statusCode).toBe(202);
    expect(await p.worker().runOnce()).toBe(1);

    const get = (url: string) => p.t.app.inject({ url, headers });
    const [delivery] = (await get('/api/v1/deliveries')).json<{ items: { id: string }[] }>().items;
    const detail = (await get(`/api/v1/deliveries/${delivery?.id ?? ''}`)).json<{
      status: string;
      attemptLog: { request: { body: string } }[];
    }>();
    expect(detail.status).toBe('succeeded');
    expectMasked(detail.attemptLog[0]?.request.body ?? '');
  });
});
