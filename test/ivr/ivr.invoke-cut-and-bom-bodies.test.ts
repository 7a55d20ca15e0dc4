/**
 * Over HTTP, only a response's first 64 KiB are kept: an IVR invocation whose JSON answer is
 * longer gets its defaults with a `reason` that says the body was cut at 64 KiB. A JSON answer
 * sent with a UTF-8 byte order mark is read like one without.
 */
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { useIvrAppWithServer } from './ivr-app.js';

const items = Array.from({ length: 5000 }, (_, i) => ({ id: `ORD-${i}` }));

describe.each(DIALECTS)('IVR invoke with cut and BOM-prefixed bodies on %s', (backend) => {
  const ivr = useIvrAppWithServer(backend, (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
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
});
