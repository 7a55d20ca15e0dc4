/**
 * Ids, cursors and filters in the URL reach database queries: PostgreSQL keeps no NUL in text,
 * so `%00` anywhere in the URL is a 400 naming the URL, on every backend, never a 500.
 */
import { describe, expect, it } from 'vitest';
import { useAppPerTest } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';

describe.each(DIALECTS)('a URL holding a NUL on %s', (backend) => {
  const fresh = useAppPerTest(backend, ['integration']);

  it('is refused with 400 on reads, filters and actions', async () => {
    await fresh.setup();
    const urls: [string, string][] = [
      ['GET', '/api/v1/deliveries?cursor=%00'],
      ['GET', '/api/v1/deliveries?eventId=a%00b'],
      ['GET', '/api/v1/deliveries?integrationId=%00'],
      ['GET', '/api/v1/deliveries/a%00b'],
      ['POST', '/api/v1/deliveries/a%00b/retry'],
      ['POST', '/api/v1/integrations/a%00b/replay'],
      ['GET', '/api/v1/integrations/a%00B'],
    ];
    const answers: Record<string, string> = {};
    for (const [method, url] of urls) {
      const res = await fresh.t.app.inject({
        method: method as 'GET' | 'POST',
        url,
        headers: fresh.alice.headers,
        ...(method === 'POST' ? { payload: {} } : {}),
      });
      answers[`${method} ${url}`] = `${res.statusCode} ${res.json().error?.code}`;
    }
    expect(answers).toEqual(
      Object.fromEntries(urls.map(([m, u]) => [`${m} ${u}`, '400 VALIDATION_FAILED'])),
    );
    // Half a UTF-16 pair cannot be written in a URL: its UTF-8 bytes decode to U+FFFD.
    const half = await fresh.t.app.inject({
      url: '/api/v1/deliveries?eventId=%ED%A0%80',
      headers: fresh.alice.headers,
    });
    expect(half.statusCode).toBe(200);
  });
});
