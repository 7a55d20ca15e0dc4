/** SOAP integrations in a test pipeline (test/helpers/pipeline.ts), as the SOAP tests set them up. */
import { expect } from 'vitest';
import type { Pipeline } from '../helpers/pipeline.js';

/** CreateTicket of the tickets WSDL at `wsdlUrl`: the contact's phone, priority 1. */
export const createTicketConfig = (wsdlUrl: string) => ({
  wsdlUrl,
  service: 'Tickets',
  port: 'TicketsSoap',
  operation: 'CreateTicket',
  params: [
    { name: 'phone', value: '{{contact.phone}}' },
    { name: 'priority', value: '1' },
  ],
});

/**
 * Saves a SOAP integration (`integration`: its name, config and options) through the pipeline's
 * API and binds it alone to campaign `spring` on `call.ended`; its id.
 */
export async function bindSoapIntegration(
  p: Pipeline,
  integration: { name: string; config: object; options?: object },
): Promise<string> {
  const created = await p.post('/api/v1/integrations', { type: 'soap', ...integration });
  expect(created.statusCode, created.body).toBe(201);
  const integrationId = created.json<{ id: string }>().id;
  const bound = await p.t.app.inject({
    method: 'PUT',
    url: '/api/v1/campaigns/spring/bindings',
    headers: p.dialer.headers,
    payload: { bindings: [{ integrationId, on: ['call.ended'] }] },
  });
  expect(bound.statusCode, bound.body).toBe(200);
  return integrationId;
}
