/**
 * SOAP answers and WSDL documents sent compressed. gzip, deflate and br are decoded (by axios,
 * under the same 16 MiB cap, counted decoded). An encoding Callhook does not decode (`zstd`), or
 * a body that is not what its encoding says, is said as such: a call's 2xx answer is
 * `invalid_response` (a delivery fails at once, an IVR invocation answers `failure`) with the
 * reason in words and `bodyError` on the recorded response, not compressed bytes quoted as "not a
 * SOAP answer" nor a retried network error (`Z_DATA_ERROR: incorrect header check`); a 5xx stays
 * a retryable `http_error`; a WSDL document is `wsdl_invalid` with the reason.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { createIvrTestApp, type IvrTestApp, type IvrUser } from '../ivr/ivr-app.js';
import { startServer, type TestServer } from '../transport/servers.js';
import { SoapClient } from '../../src/transport/soap-client.js';
import { fixture, LOOPBACK_POLICY } from './soap-servers.js';
import { bindSoapIntegration, createTicketConfig } from './soap-pipeline.js';

const MB = 1024 * 1024;
const ENVELOPE =
  '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><CreateTicketResponse xmlns="http://callhook.test/tickets/"><CreateTicketResult><TicketId>T-42</TicketId></CreateTicketResult></CreateTicketResponse></soap:Body></soap:Envelope>';
const ZSTD_ERROR =
  'the body is in Content-Encoding "zstd", which Callhook does not decode (one of gzip, deflate and br only)';
const NOT_GZIP_ERROR =
  'the body is not valid gzip data (Content-Encoding: gzip): incorrect header check';

const ZEROS = Buffer.alloc(32 * MB);
/** The bomb for a text, made once. */
const bombs: Record<string, Buffer> = {};

/** How a case answers: status, Content-Encoding, and the bytes for a text. */
const CASES: Record<string, { status: number; encoding: string; bytes: (text: string) => Buffer }> =
  {
    gzip: { status: 200, encoding: 'gzip', bytes: (text) => zlib.gzipSync(text) },
    deflate: { status: 200, encoding: 'deflate', bytes: (text) => zlib.deflateSync(text) },
    br: { status: 200, encoding: 'br', bytes: (text) => zlib.brotliCompressSync(text) },
    // Not zstd in fact (Node 20 has none): bytes that are not the text.
    zstd: { status: 200, encoding: 'zstd', bytes: (text) => zlib.gzipSync(text) },
    'not-gzip': { status: 200, encoding: 'gzip', bytes: (text) => Buffer.from(text) },
    'not-gzip-503': { status: 503, encoding: 'gzip', bytes: (text) => Buffer.from(text) },
    // 32 MiB of zeros after the text, about 32 KB sent: past the 16 MiB cap once inflated.
    bomb: {
      status: 200,
      encoding: 'gzip',
      bytes: (text) => (bombs[text] ??= zlib.gzipSync(Buffer.concat([Buffer.from(text), ZEROS]))),
    },
  };
const DECODED = ['gzip', 'deflate', 'br'];
const UNREADABLE: [string, string][] = [
  ['zstd', ZSTD_ERROR],
  ['not-gzip', NOT_GZIP_ERROR],
];

/**
 * `/<wsdl case>/<call case>.wsdl`: the tickets WSDL, sent as the first case says, whose port is
 * at `/plain/<call case>`, where a call is answered as the second says.
 */
function soapRemote(base: () => string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const [wsdlCase = '', callCase = ''] = new URL(req.url!, 'http://x').pathname
        .slice(1)
        .replace(/\.wsdl$/, '')
        .split('/');
      const text =
        req.method === 'GET'
          ? fixture('dotnet-tickets.wsdl', `${base()}/plain/${callCase}`)
          : ENVELOPE;
      const which = CASES[req.method === 'GET' ? wsdlCase : callCase];
      if (which === undefined) {
        res.writeHead(200, { 'content-type': 'text/xml' }).end(text);
        return;
      }
      res
        .writeHead(which.status, { 'content-type': 'text/xml', 'content-encoding': which.encoding })
        .end(which.bytes(text));
    });
  };
}

describe.each(DIALECTS)('compressed SOAP answers on %s', (backend) => {
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

    const create = (which: string) =>
      t.create(alice.headers, {
        type: 'soap',
        config: createTicketConfig(`${remote.origin}/plain/${which}.wsdl`),
        options: { responseVariables: [{ name: 'ticket', path: 'CreateTicketResult.TicketId' }] },
      });

    it.each(DECODED)('reads the result of a %s answer', async (which) => {
      const { answer } = await t.invoke(alice.headers, await create(which));
      expect(answer).toMatchObject({ outcome: 'success', variables: { ticket: 'T-42' } });
      expect(answer.variables['body']).toContain('<TicketId>T-42</TicketId>');
    });

    it.each(UNREADABLE)('says why a %s answer cannot be read', async (which, why) => {
      const { answer } = await t.invoke(alice.headers, await create(which));
      expect(answer).toMatchObject({
        outcome: 'failure',
        status: 200,
        reason: `HTTP 200, but ${why}`,
        variables: { ticket: '', body: '' },
      });
      const { attempts } = await t.logged(answer.deliveryId);
      expect(JSON.parse(attempts[0]!['response'] as string)).toMatchObject({
        status: 200,
        body: '',
        bodyError: why,
      });
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

    /** Delivers one event to a fresh integration answering as `which`; the delivery's detail. */
    async function deliver(which: string) {
      const integrationId = await bindSoapIntegration(p, {
        name: `Tickets ${which}`,
        config: createTicketConfig(`${remote.origin}/plain/${which}.wsdl`),
      });
      await p.post('/api/v1/events', callEvent(`ev-${which}`));
      expect(await p.worker().runOnce()).toBe(1);
      const items = (await p.get('/api/v1/deliveries')).json().items as {
        id: string;
        integrationId: string;
      }[];
      const item = items.find((one) => one.integrationId === integrationId)!;
      return (await p.get(`/api/v1/deliveries/${item.id}`)).json();
    }

    it.each(DECODED)('records a %s answer decoded', async (which) => {
      const { status, attemptLog } = await deliver(which);
      expect(status).toBe('succeeded');
      expect(attemptLog[0].response.body).toContain('<TicketId>T-42</TicketId>');
    });

    it.each(UNREADABLE)('fails a %s answer at once, saying why', async (which, why) => {
      const { status, attemptLog } = await deliver(which);
      expect(status).toBe('failed');
      expect(attemptLog[0].error).toContain(`HTTP 200, but ${why}`);
      expect(attemptLog[0].response).toMatchObject({ status: 200, body: '', bodyError: why });
    });

    it('retries a 503 whose body cannot be read, as any 503', async () => {
      const { status, attemptLog } = await deliver('not-gzip-503');
      expect(status).not.toBe('failed');
      expect(status).not.toBe('succeeded');
      expect(attemptLog[0].error).toContain('HTTP 503');
      expect(attemptLog[0].response).toMatchObject({
        status: 503,
        body: '',
        bodyError: NOT_GZIP_ERROR,
      });
    });
  });
});

describe('a compressed SOAP answer that inflates past 16 MiB', () => {
  it('is read no further than the cap: the cap counts decoded bytes', async () => {
    const remote = await startServer(soapRemote(() => remote.origin));
    const client = new SoapClient({ policy: LOOPBACK_POLICY });
    try {
      // The WSDL loaded first: the call's answer is the bomb.
      expect((await client.describe(`${remote.origin}/plain/bomb.wsdl`)).ok).toBe(true);
      const outcome = await client.call({
        wsdlUrl: `${remote.origin}/plain/bomb.wsdl`,
        service: 'Tickets',
        port: 'TicketsSoap',
        operation: 'CreateTicket',
        params: [{ name: 'phone', value: '+15551234567' }],
        timeoutMs: 10_000,
      });
      expect(outcome).toMatchObject({
        kind: 'response_too_large',
        message: 'HTTP 200, but the answer is larger than 16 MiB',
      });
    } finally {
      client.close();
      await remote.close();
    }
  });
});

describe('a compressed WSDL document', () => {
  let remote: TestServer;
  let client: SoapClient;

  beforeAll(async () => {
    remote = await startServer(soapRemote(() => remote.origin));
    client = new SoapClient({ policy: LOOPBACK_POLICY });
  });
  afterAll(async () => {
    client?.close();
    await remote?.close();
  });

  it.each(DECODED)('is read when sent as %s', async (which) => {
    const found = await client.describe(`${remote.origin}/${which}/plain.wsdl`);
    expect(found.ok).toBe(true);
  });

  it.each(UNREADABLE)('is refused for good, saying why, when sent as %s', async (which, why) => {
    const found = await client.describe(`${remote.origin}/${which}/plain.wsdl`);
    expect(found).toMatchObject({
      ok: false,
      failure: { kind: 'wsdl_invalid', message: why, retryable: false },
    });
  });
});
