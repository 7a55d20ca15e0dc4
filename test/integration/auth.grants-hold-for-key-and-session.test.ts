/**
 * SPEC §7: a permission assigned or removed, on a user or on a role, holds from the next request,
 * for a caller signed in by API key and by session cookie alike. The clock of the API key cache
 * stands still here, so a key verified once would be reused for the whole test if a change did
 * not drop it (src/auth/api-key-cache.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';

describe.each(DIALECTS)('grants from the next request on %s', (backend) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('each change to a user or a role applies to the next request by key and by session', async () => {
    t = await createTestApp(backend, { deps: { authClock: () => 1_000 } });
    const app = t.app;
    const admin = await t.user({ admin: true });
    const bob = await t.user();
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: bob.email, password: bob.password },
    });
    const session = login.cookies.find((c) => c.name === 'callhook_session')!.value;
    const as = { key: bob.headers, session: { cookie: `callhook_session=${session}` } };
    const statuses = async () => ({
      key: (await app.inject({ url: '/api/v1/integrations', headers: as.key })).statusCode,
      session: (await app.inject({ url: '/api/v1/integrations', headers: as.session })).statusCode,
    });
    const allowed = { key: 200, session: 200 };
    const refused = { key: 403, session: 403 };
    const admins = async (method: 'PUT' | 'DELETE', url: string) => {
      const res = await app.inject({ method, url, headers: admin.headers });
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(204);
    };
    const role = (
      await app.inject({
        method: 'POST',
        url: '/api/v1/roles',
        headers: admin.headers,
        payload: { name: 'Integrators' },
      })
    ).json<{ id: string }>();

    expect(await statuses()).toEqual(refused);
    await admins('PUT', `/api/v1/users/${bob.id}/permissions/integration`);
    expect(await statuses()).toEqual(allowed);
    await admins('DELETE', `/api/v1/users/${bob.id}/permissions/integration`);
    expect(await statuses()).toEqual(refused);

    await admins('PUT', `/api/v1/users/${bob.id}/roles/${role.id}`);
    expect(await statuses()).toEqual(refused);
    await admins('PUT', `/api/v1/roles/${role.id}/permissions/integration`);
    expect(await statuses()).toEqual(allowed);
    await admins('DELETE', `/api/v1/roles/${role.id}/permissions/integration`);
    expect(await statuses()).toEqual(refused);
    await admins('PUT', `/api/v1/roles/${role.id}/permissions/integration`);
    expect(await statuses()).toEqual(allowed);
    await admins('DELETE', `/api/v1/users/${bob.id}/roles/${role.id}`);
    expect(await statuses()).toEqual(refused);
    await admins('PUT', `/api/v1/users/${bob.id}/roles/${role.id}`);
    expect(await statuses()).toEqual(allowed);
    await admins('DELETE', `/api/v1/roles/${role.id}`);
    expect(await statuses()).toEqual(refused);
  });
});
