/**
 * The request a delivery's attempt log and the test endpoint show is the one that arrived: a real
 * delivery to a local receiver, its attempt log, and the test endpoint for the same data, compared
 * header by header, on both backends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';

/** A header as the receiver got it: Node reads header bytes as latin1; they were sent as UTF-8. */
const utf8 = (value: unknown) => Buffer.from(String(value), 'latin1').toString('utf8');

describe.each(DIALECTS)('the recorded request is the request sent, on %s', (backend) => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('shows a non-ASCII header value as it was written and sent, not as its bytes read as latin1', async () => {
    p = await createPipeline(backend);
    const patched = await p.t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${p.integrationId}`,
      headers: p.dialer.headers,
      payload: {
        config: {
          headers:
            'Content-Type: application/json\nUser-Agent: Callhook für {{contact.firstName}}\nAccept-Language: {{contact.custom.lang}}',
        },
      },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const contact = {
      id: 'k-3',
      phone: '+15551234567',
      firstName: 'Zoë 😀',
      custom: { plan: 'gold', lang: 'ﬁ-日本' },
    };
    await p.post('/api/v1/events', callEvent('ev-utf8', { contact }));
    await p.worker().runOnce();

    expect(p.received).toHaveLength(1);
    const arrived = p.received[0]!.headers;
    expect(utf8(arrived['user-agent'])).toBe('Callhook für Zoë 😀');
    expect(utf8(arrived['accept-language'])).toBe('ﬁ-日本');

    const [delivery] = (await p.get('/api/v1/deliveries')).json().items;
    const logged = (await p.get(`/api/v1/deliveries/${delivery.id}`)).json().attemptLog[0].request
      .headers as [string, string][];
    expect(logged).toContainEqual(['User-Agent', 'Callhook für Zoë 😀']);
    expect(logged).toContainEqual(['Accept-Language', 'ﬁ-日本']);

    const tested = await p.post(`/api/v1/integrations/${p.integrationId}/test`, {
      sample: { contact },
    });
    expect(tested.statusCode, tested.body).toBe(200);
    const shown = tested.json().request.headers as [string, string][];
    expect(shown).toContainEqual(['User-Agent', 'Callhook für Zoë 😀']);
    expect(shown).toContainEqual(['Accept-Language', 'ﬁ-日本']);
  });

  it('shows a response header sent as UTF-8 as its text, and one in latin1 as received', async () => {
    p = await createPipeline(backend);
    p.respond = (res) => {
      // Node writes header strings byte for byte: these are the UTF-8 and the latin1 bytes.
      res.setHeader('x-error', Buffer.from('Numéro inconnu', 'utf8').toString('latin1'));
      res.setHeader('x-legacy', 'Montréal');
      res.writeHead(200).end('ok');
    };
    await p.post('/api/v1/events', callEvent('ev-answer'));
    await p.worker().runOnce();
    const [delivery] = (await p.get('/api/v1/deliveries')).json().items;
    const logged = (await p.get(`/api/v1/deliveries/${delivery.id}`)).json().attemptLog[0].response
      .headers as [string, string][];
    expect(logged).toContainEqual(['x-error', 'Numéro inconnu']);
    expect(logged).toContainEqual(['x-legacy', 'Montréal']);
  });

  it('shows the User-Agent sent when the integration sets none', async () => {
    p = await createPipeline(backend);
    await p.post('/api/v1/events', callEvent('ev-agent'));
    await p.worker().runOnce();
    expect(p.received).toHaveLength(1);
    const sent = p.received[0]!.headers['user-agent'];
    expect(sent).toBe('Callhook/0.1');

    const [delivery] = (await p.get('/api/v1/deliveries')).json().items;
    const logged = (await p.get(`/api/v1/deliveries/${delivery.id}`)).json().attemptLog[0].request
      .headers as [string, string][];
    expect(logged.filter(([name]) => name.toLowerCase() === 'user-agent')).toEqual([
      ['User-Agent', sent],
    ]);
    const tested = await p.post(`/api/v1/integrations/${p.integrationId}/test`, {});
    const shown = tested.json().request.headers as [string, string][];
    expect(shown.filter(([name]) => name.toLowerCase() === 'user-agent')).toEqual([
      ['User-Agent', sent],
    ]);
  });
});
