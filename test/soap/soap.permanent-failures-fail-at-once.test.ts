/**
 * A SOAP integration whose WSDL will give the same answer however often it is fetched again fails
 * at its first attempt, saying what is wrong and where, instead of using up days of retries
 * (SPEC §4: only network errors, timeouts, 408, 429 and 5xx are retried): a port address that is
 * not http(s), a WSDL redirect loop or a redirect to a non-http location, a WSDL answered 404 or
 * 410, one that does not parse, one without the chosen operation. A WSDL answered 503 is still
 * retried. Fixed and retried, a delivery goes out with the integration's current version. An IVR
 * invocation answers `error` with the same reason, at once.
 *
 * Each integration is saved while its WSDL works (saving checks it), then the WSDL server breaks
 * it and the WSDL cache is emptied, as a process started later, or an hour later, would find it.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { createIvrTestApp, type IvrTestApp, type IvrUser } from '../ivr/ivr-app.js';
import { startServer, type TestServer } from '../transport/servers.js';
import { fixture, startNodeSoapServer, type NodeSoapServer } from './soap-servers.js';
import { bindSoapIntegration, createTicketConfig } from './soap-pipeline.js';

type Answer = (res: ServerResponse) => void;

const xml =
  (body: string, status = 200): Answer =>
  (res) =>
    void res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' }).end(body);
const redirect =
  (location: string): Answer =>
  (res) =>
    void res.writeHead(302, { location }).end();

/** Serves WSDLs by path; what a path answers can be changed while the test runs. */
interface WsdlHost {
  origin: string;
  answers: Map<string, Answer>;
  close(): Promise<void>;
}

async function startWsdlHost(): Promise<WsdlHost> {
  const answers = new Map<string, Answer>();
  const server: TestServer = await startServer((req, res) => {
    const answer = answers.get(new URL(req.url ?? '/', 'http://host').pathname);
    if (answer === undefined) res.writeHead(404).end('no such document');
    else answer(res);
  });
  return { origin: server.origin, answers, close: () => server.close() };
}

/** One way a WSDL breaks for good (or, for the last, for a while), and what the attempt says. */
interface Breakage {
  name: string;
  /** Makes `path` on the host answer the broken WSDL. */
  apply(host: WsdlHost, path: string, good: string): void;
  /** The reason, after `WSDL <url>: ` (and before ` (not retried)` in a delivery's last error). */
  reason: (url: string, host: WsdlHost) => RegExp;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const PERMANENT: Breakage[] = [
  {
    name: 'its port address is not http(s)',
    apply: (host, path, good) =>
      host.answers.set(
        path,
        xml(good.replace(/location="[^"]*"/g, 'location="ftp://erp.example/tickets"')),
      ),
    reason: (url) =>
      new RegExp(
        `^WSDL ${escape(url)}: port "TicketsSoap" has the address "ftp://erp\\.example/tickets" \\(its soap:address location\\), which is not an http: or https: URL$`,
      ),
  },
  {
    name: 'its port address is not a URL',
    apply: (host, path, good) =>
      host.answers.set(path, xml(good.replace(/location="[^"]*"/g, 'location="/tickets"'))),
    reason: (url) =>
      new RegExp(
        `^WSDL ${escape(url)}: port "TicketsSoap" has the address "/tickets" \\(its soap:address location\\), which is not an absolute URL$`,
      ),
  },
  {
    name: 'it redirects in a loop',
    apply: (host, path) => {
      host.answers.set(path, redirect(`${host.origin}${path}.next`));
      host.answers.set(`${path}.next`, redirect(`${host.origin}${path}`));
    },
    reason: (url) =>
      new RegExp(`^WSDL ${escape(url)}: redirected more than 5 times \\(a redirect loop\\?\\)$`),
  },
  {
    name: 'it redirects to a non-http location',
    apply: (host, path) => host.answers.set(path, redirect('ftp://erp.example/tickets.wsdl')),
    reason: (url) =>
      new RegExp(
        `^WSDL ${escape(url)}: cannot be fetched: Redirected request failed: Unsupported protocol ftp:$`,
      ),
  },
  {
    name: 'it is answered 404',
    apply: (host, path) => host.answers.set(path, xml('no such service', 404)),
    reason: (url) => new RegExp(`^WSDL ${escape(url)}: answered HTTP 404: no such service$`),
  },
  {
    name: 'it is answered 410',
    apply: (host, path) => host.answers.set(path, xml('retired', 410)),
    reason: (url) => new RegExp(`^WSDL ${escape(url)}: answered HTTP 410: retired$`),
  },
  {
    name: 'it does not parse',
    apply: (host, path) => host.answers.set(path, xml('<?xml version="1.0"?>\n<definitions/')),
    reason: (url) =>
      new RegExp(
        `^WSDL ${escape(url)}: not well-formed XML: Tag 'definitions' is not closed: the document ends before its '>'\\. \\(line 2, column 1\\)$`,
      ),
  },
  {
    name: 'it no longer offers the operation',
    apply: (host, path, good) =>
      host.answers.set(path, xml(good.replaceAll('"CreateTicket"', '"OpenTicket"'))),
    reason: () =>
      /^config\.operation: the WSDL offers no operation "CreateTicket" on that service\/port \(operations: "OpenTicket", /,
  },
];

describe.each(DIALECTS)('SOAP deliveries on %s whose WSDL cannot work', (backend) => {
  let p: Pipeline;
  let soap: NodeSoapServer;
  let host: WsdlHost;
  let good: string;
  let cases = 0;

  beforeAll(async () => {
    p = await createPipeline(backend);
    soap = await startNodeSoapServer();
    host = await startWsdlHost();
    good = fixture('dotnet-tickets.wsdl', soap.base);
  });

  afterAll(async () => {
    await p?.close();
    await soap?.close();
    await host?.close();
  });

  /** A SOAP integration on a WSDL that works now, bound alone to campaign `spring`. */
  const bindWorkingSoap = async () => {
    cases += 1;
    const path = `/case-${cases}.wsdl`;
    host.answers.set(path, xml(good));
    const wsdlUrl = `${host.origin}${path}`;
    const integrationId = await bindSoapIntegration(p, {
      name: `Tickets ${cases}`,
      config: createTicketConfig(wsdlUrl),
    });
    return { path, wsdlUrl, integrationId, event: `ev-${cases}` };
  };

  /** Sends one event through one worker pass; answers the integration's delivery. */
  const deliverOnce = async (integrationId: string, event: string) => {
    p.t.services.soap.wsdls.clear();
    expect((await p.post('/api/v1/events', callEvent(event))).statusCode).toBe(202);
    expect(await p.worker().runOnce()).toBe(1);
    const [delivery] = (await p.get(`/api/v1/deliveries?integrationId=${integrationId}`)).json()
      .items;
    const { attemptLog } = (await p.get(`/api/v1/deliveries/${delivery.id}`)).json();
    return { delivery, attemptLog };
  };

  it.each(PERMANENT)('fails at the first attempt when $name', async (breakage) => {
    const { path, wsdlUrl, integrationId, event } = await bindWorkingSoap();
    breakage.apply(host, path, good);
    const calls = soap.calls.length;

    const { delivery, attemptLog } = await deliverOnce(integrationId, event);

    expect(delivery).toMatchObject({ status: 'failed', attempts: 1 });
    expect(attemptLog).toHaveLength(1);
    const reason = breakage.reason(wsdlUrl, host);
    expect(attemptLog[0].error).toMatch(/^request not sent: /);
    expect(attemptLog[0].error.slice('request not sent: '.length)).toMatch(reason);
    expect(delivery.lastError).toMatch(/ \(not retried\)$/);
    expect(soap.calls.length).toBe(calls);
  });

  it('retries a WSDL answered 503, as a WSDL that may come back', async () => {
    const { path, integrationId, event } = await bindWorkingSoap();
    host.answers.set(path, xml('down for maintenance', 503));

    const { delivery, attemptLog } = await deliverOnce(integrationId, event);

    expect(delivery).toMatchObject({ status: 'pending', attempts: 1 });
    expect(attemptLog[0].error).toMatch(/WSDL .*: answered HTTP 503: down for maintenance$/);
  });

  it('sends a failed delivery once its integration is fixed and it is retried', async () => {
    const { path, integrationId, event } = await bindWorkingSoap();
    PERMANENT[0]!.apply(host, path, good);
    const { delivery } = await deliverOnce(integrationId, event);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1 });

    // The fix: a WSDL that gives a working address.
    host.answers.set('/fixed.wsdl', xml(good));
    const fixed = await p.t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${integrationId}`,
      headers: p.dialer.headers,
      payload: { config: { wsdlUrl: `${host.origin}/fixed.wsdl` } },
    });
    expect(fixed.statusCode, fixed.body).toBe(200);
    const retried = await p.post(`/api/v1/deliveries/${delivery.id}/retry`, {});
    expect(retried.statusCode, retried.body).toBe(202);
    const calls = soap.calls.length;
    expect(await p.worker().runOnce()).toBe(1);

    const after = (await p.get(`/api/v1/deliveries/${delivery.id}`)).json();
    expect(after).toMatchObject({ status: 'succeeded' });
    expect(
      after.attemptLog.map((a: { integrationVersion: number }) => a.integrationVersion),
    ).toEqual([1, 2]);
    expect(soap.calls.length).toBe(calls + 1);
  });
});

describe('IVR invoke of a SOAP integration whose WSDL cannot work', () => {
  let t: IvrTestApp;
  let alice: IvrUser;
  let soap: NodeSoapServer;
  let host: WsdlHost;
  let good: string;
  let cases = 0;

  beforeAll(async () => {
    t = await createIvrTestApp('sqlite');
    alice = await t.user();
    soap = await startNodeSoapServer();
    host = await startWsdlHost();
    good = fixture('dotnet-tickets.wsdl', soap.base);
  });

  afterAll(async () => {
    await t?.close();
    await soap?.close();
    await host?.close();
  });

  it.each(PERMANENT)('answers error with the reason when $name', async (breakage) => {
    cases += 1;
    const path = `/ivr-${cases}.wsdl`;
    host.answers.set(path, xml(good));
    const wsdlUrl = `${host.origin}${path}`;
    const id = await t.create(alice.headers, { type: 'soap', config: createTicketConfig(wsdlUrl) });
    breakage.apply(host, path, good);
    t.services.soap.wsdls.clear();

    const { statusCode, answer, body } = await t.invoke(alice.headers, id);

    expect(statusCode, body).toBe(200);
    expect(answer).toMatchObject({ outcome: 'error', status: null });
    expect(answer.reason).toMatch(/^request not sent: /);
    expect(answer.reason!.slice('request not sent: '.length)).toMatch(
      breakage.reason(wsdlUrl, host),
    );
  });
});

describe('saving a SOAP integration whose WSDL gives its port an unusable address', () => {
  let t: IvrTestApp;
  let alice: IvrUser;
  let host: WsdlHost;

  beforeAll(async () => {
    t = await createIvrTestApp('sqlite');
    alice = await t.user();
    host = await startWsdlHost();
  });

  afterAll(async () => {
    await t?.close();
    await host?.close();
  });

  it('is refused, naming the port and its address', async () => {
    const wsdl = fixture('dotnet-tickets.wsdl', 'http://unused.example').replace(
      /location="[^"]*"/g,
      'location="file:///etc/passwd"',
    );
    host.answers.set('/local.wsdl', xml(wsdl));
    const saved = await t.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: alice.headers,
      payload: {
        name: 'Tickets',
        type: 'soap',
        config: createTicketConfig(`${host.origin}/local.wsdl`),
      },
    });
    expect(saved.statusCode, saved.body).toBe(400);
    expect(saved.json().error.details).toEqual([
      {
        field: 'config.wsdlUrl',
        message:
          'port "TicketsSoap" has the address "file:///etc/passwd" (its soap:address location), which is not an http: or https: URL',
      },
    ]);
  });
});
