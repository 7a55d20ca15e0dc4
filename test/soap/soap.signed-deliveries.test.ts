/**
 * A SOAP integration with `options.signing` signs its deliveries like an HTTP one (SPEC §2.3,
 * §4): Standard Webhooks headers over the envelope exactly as it went out, WS-Security header
 * included, checked against the reference library's own signature of the body the server got.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { startNodeSoapServer, type NodeSoapServer } from './soap-servers.js';

const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

describe.each(DIALECTS)('signed SOAP deliveries on %s', (backend) => {
  let p: Pipeline | undefined;
  let soap: NodeSoapServer | undefined;
  afterEach(async () => {
    await p?.close();
    await soap?.close();
    p = soap = undefined;
  });

  it('carries webhook-id, -timestamp and -signature over the envelope as sent', async () => {
    p = await createPipeline(backend);
    soap = await startNodeSoapServer();
    const created = await p.post('/api/v1/integrations', {
      name: 'Tickets',
      type: 'soap',
      config: {
        wsdlUrl: `${soap.base}/dotnet?wsdl`,
        operation: 'CreateTicket',
        service: 'Tickets',
        port: 'TicketsSoap',
        params: [{ name: 'phone', value: '{{contact.phone}}' }],
        wsSecurity: { username: 'dialer', password: 'pw' },
      },
      options: { signing: { secret } },
    });
    expect(created.statusCode, created.body).toBe(201);
    const integrationId = created.json<{ id: string }>().id;
    const bound = await p.t.app.inject({
      method: 'PUT',
      url: '/api/v1/campaigns/spring/bindings',
      headers: p.dialer.headers,
      payload: { bindings: [{ integrationId, on: ['call.ended'] }] },
    });
    expect(bound.statusCode, bound.body).toBe(200);

    await p.post('/api/v1/events', callEvent('ev-soap'));
    expect(await p.worker().runOnce()).toBe(1);

    expect(soap.calls).toHaveLength(1);
    const [call] = soap.calls;
    expect(call!.body).toContain('wsse:Security');
    const [delivery] = (
      await p.t.app.inject({ url: '/api/v1/deliveries', headers: p.dialer.headers })
    ).json().items;
    expect(delivery).toMatchObject({ integrationId, status: 'succeeded' });
    const id = String(call!.headers['webhook-id']);
    const timestamp = Number(call!.headers['webhook-timestamp']);
    expect(id).toBe(delivery.id);
    expect(call!.headers['webhook-signature']).toBe(
      new Webhook(secret).sign(id, new Date(timestamp * 1000), call!.body),
    );
    // The attempt log shows the headers as sent.
    const detail = (
      await p.t.app.inject({
        url: `/api/v1/deliveries/${delivery.id}`,
        headers: p.dialer.headers,
      })
    ).json();
    const logged = Object.fromEntries(detail.attemptLog[0].request.headers);
    expect(logged).toMatchObject({ 'webhook-id': id, 'webhook-timestamp': String(timestamp) });
  });
});
