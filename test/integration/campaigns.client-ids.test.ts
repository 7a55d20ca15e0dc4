/**
 * A campaign may carry the dialer's own id, as long as a URL can name it: `.` and `..` are path
 * segments that clients and browsers drop (`/campaigns/..` is `/`), so such a campaign could never
 * be read, changed or deleted. Every other id of the allowed characters is reachable at its URL.
 */
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { useAppPerTest } from '../helpers/app.js';

describe.each(DIALECTS)("campaigns with the dialer's ids on %s", (backend) => {
  const app = useAppPerTest(backend, ['campaign']);
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    app.t.app.inject({
      method,
      url,
      headers: app.alice.headers,
      ...(payload === undefined ? {} : { payload }),
    });

  it('refuses . and .. as ids, naming the field', async () => {
    await app.setup();
    for (const id of ['.', '..']) {
      const created = await call('POST', '/api/v1/campaigns', { id, name: 'Dots', type: 'voice' });
      expect(created.statusCode, id).toBe(400);
      expect(created.json()).toMatchObject({
        error: { code: 'VALIDATION_FAILED', details: [{ field: 'body.id' }] },
      });
    }
    expect((await call('GET', '/api/v1/campaigns')).json<{ items: unknown[] }>().items).toEqual([]);
  });

  it('takes ids with dots elsewhere, each readable and deleted at its URL', async () => {
    await app.setup();
    for (const id of ['...', '.spring', 'spring.', 'v1.2', 'a..b', 'tenant:42']) {
      const created = await call('POST', '/api/v1/campaigns', { id, name: id, type: 'voice' });
      expect(created.statusCode, `${id}: ${created.body}`).toBe(201);
      const read = await call('GET', `/api/v1/campaigns/${encodeURIComponent(id)}`);
      expect(read.statusCode, id).toBe(200);
      expect(read.json()).toMatchObject({ id, name: id });
      expect((await call('DELETE', `/api/v1/campaigns/${encodeURIComponent(id)}`)).statusCode).toBe(
        204,
      );
    }
  });
});
