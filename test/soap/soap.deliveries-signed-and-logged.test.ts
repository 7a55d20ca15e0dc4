/**
 * SOAP deliveries end to end against the node soap server. With `options.signing` they are signed
 * like HTTP ones (SPEC §2.3, §4): Standard Webhooks headers over the envelope exactly as it went
 * out, WS-Security header included, checked against the reference library's own signature of the
 * body the server got. A fault's attempt log holds the fault envelope as received.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import {
  startFileServer,
  startNodeSoapServer,
  type FileServer,
  type NodeSoapServer,
} from './soap-servers.js';
import { bindSoapIntegration } from './soap-pipeline.js';

const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

describe.each(DIALECTS)('SOAP deliveries on %s', (backend) => {
  let p: Pipeline | undefined;
  let soap: NodeSoapServer | undefined;
  let files: FileServer | undefined;
  afterEach(async () => {
    await p?.close();
    await soap?.close();
    await files?.close();
    p = soap = files = undefined;
  });

  /**
   * A SOAP integration on the .NET-style service, bound to campaign `spring`: the node soap
   * server's, or the WSDL `wsdlUrl` gives.
   */
  const bindSoap = async (config: object, options: object = {}, wsdlUrl?: string) => {
    p = await createPipeline(backend);
    soap = await startNodeSoapServer();
    const integrationId = await bindSoapIntegration(p, {
      name: 'Tickets',
      config: {
        wsdlUrl: wsdlUrl ?? `${soap.base}/dotnet?wsdl`,
        service: 'Tickets',
        port: 'TicketsSoap',
        ...config,
      },
      options,
    });
    return { p, soap, integrationId };
  };

  it('carries webhook-id, -timestamp and -signature over the envelope as sent', async () => {
    const { p, soap, integrationId } = await bindSoap(
      {
        operation: 'CreateTicket',
        params: [{ name: 'phone', value: '{{contact.phone}}' }],
        wsSecurity: { username: 'dialer', password: 'pw' },
      },
      { signing: { secret } },
    );

    await p.post('/api/v1/events', callEvent('ev-soap'));
    expect(await p.worker().runOnce()).toBe(1);

    expect(soap.calls).toHaveLength(1);
    const [call] = soap.calls;
    expect(call!.body).toContain('wsse:Security');
    const [delivery] = (await p.get('/api/v1/deliveries')).json().items;
    expect(delivery).toMatchObject({ integrationId, status: 'succeeded' });
    const id = String(call!.headers['webhook-id']);
    const timestamp = Number(call!.headers['webhook-timestamp']);
    expect(id).toBe(delivery.id);
    expect(call!.headers['webhook-signature']).toBe(
      new Webhook(secret).sign(id, new Date(timestamp * 1000), call!.body),
    );
    // The attempt log shows the headers as sent.
    const { attemptLog } = (await p.get(`/api/v1/deliveries/${delivery.id}`)).json();
    const logged = Object.fromEntries(attemptLog[0].request.headers);
    expect(logged).toMatchObject({ 'webhook-id': id, 'webhook-timestamp': String(timestamp) });
    // Callhook's own Idempotency-Key too: it is the delivery id, not a secret of the template's.
    expect(call!.headers['idempotency-key']).toBe(delivery.id);
    expect(logged['Idempotency-Key']).toBe(delivery.id);
  });

  it("logs a fault's envelope as received with the failed attempt", async () => {
    const { p, integrationId } = await bindSoap({
      operation: 'Fail',
      params: [{ name: 'kind', value: 'client' }],
    });
    await p.post('/api/v1/events', callEvent('ev-fault'));
    expect(await p.worker().runOnce()).toBe(1);

    const [delivery] = (await p.get('/api/v1/deliveries')).json().items;
    // The node soap package answers a thrown fault with HTTP 200.
    expect(delivery).toMatchObject({ integrationId, status: 'failed', lastStatus: 200 });
    const { attemptLog } = (await p.get(`/api/v1/deliveries/${delivery.id}`)).json();
    expect(attemptLog[0].error).toMatch(/account number is not valid/);
    expect(attemptLog[0].response).toMatchObject({ status: 200, bodyTruncated: false });
    expect(attemptLog[0].response.body).toMatch(/<(\w+:)?Fault>.*account number is not valid/s);
  });

  it('fails at once on a 2xx answer that is not SOAP, logging the page', async () => {
    // The WSDL's service address is the file server's /dotnet, which answers a sign-in page.
    files = await startFileServer();
    files.override.set('/dotnet', { status: 200, body: '<html><body>Sign in</body></html>' });
    const { p } = await bindSoap(
      { operation: 'GetBalance', params: [{ name: 'accountId', value: 'A-1' }] },
      {},
      `${files.base}/dotnet-tickets.wsdl`,
    );
    await p.post('/api/v1/events', callEvent('ev-page'));
    expect(await p.worker().runOnce()).toBe(1);

    const [delivery] = (await p.get('/api/v1/deliveries')).json().items;
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, lastStatus: 200 });
    const { attemptLog } = (await p.get(`/api/v1/deliveries/${delivery.id}`)).json();
    expect(attemptLog[0].error).toMatch(/^HTTP 200, but the body is not a SOAP answer/);
    expect(attemptLog[0].response).toMatchObject({
      status: 200,
      body: '<html><body>Sign in</body></html>',
    });
  });
});
