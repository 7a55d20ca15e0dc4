/**
 * A SOAP integration's headers text may name a header twice (two `Cookie` lines, `X-Tag` and
 * `x-tag`), as an HTTP integration's may: every line reaches the server, none is dropped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { startNodeSoapServer, type NodeSoapServer } from './soap-servers.js';
import { bindSoapIntegration, createTicketConfig } from './soap-pipeline.js';

describe.each(DIALECTS)('SOAP headers named twice, on %s', (backend) => {
  let p: Pipeline | undefined;
  let soap: NodeSoapServer | undefined;
  afterEach(async () => {
    await p?.close();
    await soap?.close();
    p = soap = undefined;
  });

  it('sends every line: cookies as one Cookie header, other names joined by commas', async () => {
    p = await createPipeline(backend);
    soap = await startNodeSoapServer();
    const id = await bindSoapIntegration(p, {
      name: 'Tickets',
      config: {
        ...createTicketConfig(`${soap.base}/dotnet?wsdl`),
        headers: 'Cookie: session=abc\nX-Tag: one\nCookie: lang=fr\nx-tag: {{contact.firstName}}',
      },
    });
    const tested = await p.post(`/api/v1/integrations/${id}/test`, {
      send: true,
      sample: { contact: { firstName: 'two' } },
    });
    expect(tested.json().outcome, tested.body).toMatchObject({ success: true });
    const headers = soap.calls.at(-1)!.headers;
    expect(headers['cookie']).toBe('session=abc; lang=fr');
    expect(headers['x-tag']).toBe('one, two');
  });
});
