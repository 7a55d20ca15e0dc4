/**
 * A SOAP answer that is not an envelope is described by the start of its body, and that message
 * is stored as the attempt's error and the delivery's last error: a secret parameter the page
 * quotes back is masked there as in the recorded response.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { closeServer, fixture } from './soap-servers.js';

const SECRET = 'acct-TOPSECRET-42';
let p: Pipeline | undefined;
let server: http.Server | undefined;
afterEach(async () => {
  await p?.close();
  if (server) await closeServer(server);
  p = server = undefined;
});

it('does not log a secret SOAP parameter echoed in a non-SOAP 2xx body', async () => {
  let base = '';
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url?.endsWith('wsdl')) {
        res
          .writeHead(200, { 'content-type': 'text/xml' })
          .end(fixture('dotnet-tickets.wsdl', base));
        return;
      }
      const echoed = /accountId>([^<]*)</.exec(body)?.[1] ?? '';
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<p>Unknown account ${echoed}</p>`);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  p = await createPipeline('sqlite');
  const created = await p.post('/api/v1/integrations', {
    name: 'Balance',
    type: 'soap',
    config: {
      wsdlUrl: `${base}/dotnet?wsdl`,
      service: 'Tickets',
      port: 'TicketsSoap',
      operation: 'GetBalance',
      params: [{ name: 'accountId', value: SECRET, secret: true }],
    },
  });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json<{ id: string }>().id;
  const headers = p.dialer.headers;
  const bound = await p.t.app.inject({
    method: 'PUT',
    url: '/api/v1/campaigns/spring/bindings',
    headers,
    payload: { bindings: [{ integrationId: id, on: ['call.ended'] }] },
  });
  expect(bound.statusCode, bound.body).toBe(200);
  expect((await p.post('/api/v1/events', callEvent('ev-1'))).statusCode).toBe(202);
  expect(await p.worker().runOnce()).toBe(1);
  const list = await p.t.app.inject({ url: '/api/v1/deliveries', headers });
  const delivery = list.json<{ items: { id: string }[] }>().items.find(() => true)!;
  const detail = await p.t.app.inject({ url: `/api/v1/deliveries/${delivery.id}`, headers });
  const shown = detail.json();
  expect(shown.attemptLog[0].response.body).toBe('<p>Unknown account ••••</p>');
  expect(shown.lastError).toMatch(/not a SOAP answer \(text\/html\): <p>Unknown account ••••<\/p>/);
  expect(shown.attemptLog[0].error).toContain('Unknown account ••••');
  expect(detail.body).not.toContain(SECRET);
});
