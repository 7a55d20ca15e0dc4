/**
 * Over HTTP, only a response's first 64 KiB are kept: an IVR invocation whose JSON answer is
 * longer gets its defaults with a `reason` that says the body was cut at 64 KiB, and the kept part
 * ends at a whole character (a cut inside one leaves it out). A JSON answer
 * sent with a UTF-8 byte order mark is read like one without.
 */
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { useIvrAppWithServer } from './ivr-app.js';

// 1 + 2 × 50,000 bytes: the 64 KiB cut falls inside the 32,768th `é`.
const longText = `x${'é'.repeat(50_000)}`;
const items = Array.from({ length: 5000 }, (_, i) => ({ id: `ORD-${i}` }));

describe.each(DIALECTS)('IVR invoke with cut and BOM-prefixed bodies on %s', (backend) => {
  const ivr = useIvrAppWithServer(backend, (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    if (path === '/text') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(longText);
      return;
    }
    const json = JSON.stringify({ items: path === '/long' ? items : items.slice(0, 2) });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(path === '/bom' ? Buffer.from(`\uFEFF${json}`, 'utf8') : json);
  });

  const create = (path: string) =>
    ivr.t.create(ivr.alice.headers, {
      config: { method: 'GET', url: `${ivr.server.origin}${path}`, responseEncoding: 'json' },
      options: { responseVariables: [{ name: 'first', path: 'items.0.id', default: 'none' }] },
    });

  it('says a JSON answer over 64 KiB was cut there', async () => {
    expect(JSON.stringify({ items }).length).toBeGreaterThan(64 * 1024);
    const { answer } = await ivr.t.invoke(ivr.alice.headers, await create('/long'));
    expect(answer).toMatchObject({ outcome: 'success', variables: { first: 'none' } });
    expect(answer.variables['body']).toHaveLength(64 * 1024);
    expect(answer.reason).toMatch(/cut at 64 KiB/);
  });

  it('reads a JSON answer that starts with a byte order mark', async () => {
    const { answer } = await ivr.t.invoke(ivr.alice.headers, await create('/bom'));
    expect(answer).toMatchObject({ outcome: 'success', variables: { first: 'ORD-0' } });
    expect(answer.reason).toBeUndefined();
  });

  it('ends the kept 64 KiB of a longer answer at a whole character', async () => {
    const id = await ivr.t.create(ivr.alice.headers, {
      config: { method: 'GET', url: `${ivr.server.origin}/text`, responseEncoding: 'text' },
      options: { responseVariables: [{ name: 'said', path: '' }] },
    });
    const { answer } = await ivr.t.invoke(ivr.alice.headers, id);
    const kept = `x${'é'.repeat(32_767)}`;
    expect(answer).toMatchObject({ outcome: 'success', variables: { said: kept, body: kept } });
    const { attempts } = await ivr.t.logged(answer.deliveryId);
    expect(JSON.parse(attempts[0]!['response'] as string)).toMatchObject({
      body: kept,
      bodyTruncated: true,
    });
  });
});
