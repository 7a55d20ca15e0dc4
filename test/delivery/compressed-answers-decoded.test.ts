/**
 * A compressed answer (`Content-Encoding: gzip`, `deflate`, `br`; asked for with an integration's
 * `Accept-Encoding` header, or sent regardless) is read decoded: an IVR invocation's variables and
 * `body`, its log, a delivery's recorded response and the test endpoint's answer hold the JSON the
 * remote meant, not gzip bytes. An encoding Callhook does not decode (`zstd`), or data that is
 * not what its encoding says, is recorded with `bodyError` saying so, the IVR answer's `reason`
 * too, and no compressed bytes as a body.
 */
import zlib from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { useIvrAppWithServer } from '../ivr/ivr-app.js';

const JSON_TEXT = JSON.stringify({ customer: { balance: '12.50', city: 'Montréal' } });
const ZSTD_ERROR =
  'the body is in Content-Encoding "zstd", which Callhook does not decode (one of gzip, deflate and br only)';
const NOT_GZIP_ERROR =
  'the body is not valid gzip data (Content-Encoding: gzip): incorrect header check';

/** `/<case>`: the answer's Content-Encoding and bytes. */
const ANSWERS: Record<string, { encoding: string; body: Buffer }> = {
  gzip: { encoding: 'gzip', body: zlib.gzipSync(JSON_TEXT) },
  deflate: { encoding: 'deflate', body: zlib.deflateSync(JSON_TEXT) },
  br: { encoding: 'br', body: zlib.brotliCompressSync(JSON_TEXT) },
  // Not zstd in fact (Node 20 has none): bytes that no decoder here would read.
  zstd: { encoding: 'zstd', body: zlib.gzipSync(JSON_TEXT) },
  'not-gzip': { encoding: 'gzip', body: Buffer.from(JSON_TEXT) },
};
const DECODED = ['gzip', 'deflate', 'br'];

function answer(name: string, res: ServerResponse): void {
  const found = ANSWERS[name];
  if (found === undefined) {
    res.writeHead(404).end();
    return;
  }
  res
    .writeHead(200, { 'content-type': 'application/json', 'content-encoding': found.encoding })
    .end(found.body);
}

describe.each(DIALECTS)('compressed answers on %s', (backend) => {
  describe('in an IVR invocation', () => {
    const ivr = useIvrAppWithServer(backend, (req: IncomingMessage, res: ServerResponse) => {
      answer(new URL(req.url!, 'http://x').pathname.slice(1), res);
    });

    const create = (name: string) =>
      ivr.t.create(ivr.alice.headers, {
        config: {
          method: 'GET',
          url: `${ivr.server.origin}/${name}`,
          headers: 'Accept-Encoding: gzip, deflate, br',
          responseEncoding: 'json',
        },
        options: {
          responseVariables: [{ name: 'balance', path: 'customer.balance', default: 'none' }],
        },
      });

    it.each(DECODED)(
      'reads variables and body from a %s answer, and logs it decoded',
      async (name) => {
        const { answer: got } = await ivr.t.invoke(ivr.alice.headers, await create(name));
        expect(got).toMatchObject({
          outcome: 'success',
          variables: { balance: '12.50', body: JSON_TEXT },
        });
        expect(got.reason).toBeUndefined();
        const { attempts } = await ivr.t.logged(got.deliveryId);
        const logged = JSON.parse(attempts[0]!['response'] as string) as Record<string, unknown>;
        expect(logged).toMatchObject({ status: 200, body: JSON_TEXT, bodyTruncated: false });
        expect(logged['bodyError']).toBeUndefined();
      },
    );

    it.each([
      ['zstd', ZSTD_ERROR],
      ['not-gzip', NOT_GZIP_ERROR],
    ])('says why a %s answer could not be read, with defaults and no body', async (name, why) => {
      const { answer: got } = await ivr.t.invoke(ivr.alice.headers, await create(name));
      expect(got).toMatchObject({
        outcome: 'success',
        variables: { balance: 'none', body: '' },
        reason: why,
      });
      const { attempts } = await ivr.t.logged(got.deliveryId);
      expect(JSON.parse(attempts[0]!['response'] as string)).toMatchObject({
        status: 200,
        body: '',
        bodyError: why,
      });
    });

    it('says why even when the integration maps no variables', async () => {
      const id = await ivr.t.create(ivr.alice.headers, {
        config: { method: 'GET', url: `${ivr.server.origin}/zstd`, responseEncoding: 'text' },
      });
      const { answer: got } = await ivr.t.invoke(ivr.alice.headers, id);
      expect(got).toMatchObject({
        outcome: 'success',
        variables: { body: '' },
        reason: ZSTD_ERROR,
      });
    });
  });

  describe('in a delivery and the test endpoint', () => {
    let p: Pipeline;
    let serve = 'gzip';

    beforeAll(async () => {
      p = await createPipeline(backend);
      p.respond = (res) => answer(serve, res);
    });
    afterAll(async () => {
      await p?.close();
    });

    /** The recorded response of the one attempt of a delivery of a fresh event. */
    async function delivered(name: string, event: string) {
      serve = name;
      await p.post('/api/v1/events', callEvent(event));
      expect(await p.worker().runOnce()).toBe(1);
      const items = (await p.get('/api/v1/deliveries')).json().items as {
        id: string;
        eventId: string;
      }[];
      const id = items.find((item) => item.eventId === event)?.id ?? items[0]!.id;
      const detail = (await p.get(`/api/v1/deliveries/${id}`)).json();
      return { status: detail.status as string, response: detail.attemptLog[0].response };
    }

    async function tested(name: string) {
      serve = name;
      const res = await p.post(`/api/v1/integrations/${p.integrationId}/test`, { send: true });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().response as Record<string, unknown>;
    }

    it.each(DECODED)('records a %s answer decoded', async (name) => {
      const { status, response } = await delivered(name, `ev-${name}`);
      expect(status).toBe('succeeded');
      expect(response).toMatchObject({ status: 200, body: JSON_TEXT, bodyTruncated: false });
      expect(response.bodyError).toBeUndefined();
      const test = await tested(name);
      expect(test).toMatchObject({ status: 200, body: JSON_TEXT, truncated: false });
      expect(test['bodyError']).toBeUndefined();
    });

    it.each([
      ['zstd', ZSTD_ERROR],
      ['not-gzip', NOT_GZIP_ERROR],
    ])('records why a %s answer could not be read; the status still decides', async (name, why) => {
      const { status, response } = await delivered(name, `ev-${name}`);
      expect(status).toBe('succeeded');
      expect(response).toMatchObject({ status: 200, body: '', bodyError: why });
      expect(await tested(name)).toMatchObject({ status: 200, body: '', bodyError: why });
    });
  });
});
