import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';
import { PERMISSIONS } from '../../src/domain/permissions.js';

describe.each(DIALECTS)('grants and credentials on %s', (backend) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const status = async (
    headers: Record<string, string>,
    url = '/api/v1/users',
    method: 'GET' | 'POST' = 'GET',
  ) => (await t!.app.inject({ method, url, headers })).statusCode;

  it('a direct grant and its removal hold from the next request', async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const bob = await t.user();
    expect(await status(bob.headers)).toBe(403);
    const grant = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${bob.id}/permissions/user_admin`,
      headers: admin.headers,
    });
    expect(grant.statusCode).toBe(204);
    expect(await status(bob.headers)).toBe(200);
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${bob.id}/permissions/user_admin`,
      headers: admin.headers,
    });
    expect(await status(bob.headers)).toBe(403);
  });

  it('a grant through a role, and its removal from the role or the user, hold from the next request', async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const bob = await t.user();
    const role = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/roles',
        headers: admin.headers,
        payload: { name: 'Integrators', permissions: ['integration'] },
      })
    ).json<{ id: string; permissions: string[] }>();
    expect(role.permissions).toEqual(['integration']);
    // `tokens` needs `integration`; `users` needs `user_admin`: use GET /me to read effective grants.
    const effective = async () =>
      (await t!.app.inject({ url: '/api/v1/me', headers: bob.headers })).json<{
        effectivePermissions: string[];
      }>().effectivePermissions;

    await t.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${bob.id}/roles/${role.id}`,
      headers: admin.headers,
    });
    expect(await effective()).toEqual(['integration']);
    await t.app.inject({
      method: 'PUT',
      url: `/api/v1/roles/${role.id}/permissions/user_admin`,
      headers: admin.headers,
    });
    expect(await status(bob.headers)).toBe(200);
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/roles/${role.id}/permissions/user_admin`,
      headers: admin.headers,
    });
    expect(await status(bob.headers)).toBe(403);
    expect(await effective()).toEqual(['integration']);
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${bob.id}/roles/${role.id}`,
      headers: admin.headers,
    });
    expect(await effective()).toEqual([]);
  });

  it('tells whether a grant or a removal changed anything, and which roles still grant it', async () => {
    t = await createTestApp(backend);
    const { accounts } = t;
    const bob = await t.user();
    expect(await accounts.revokeUser(bob.id, 'integration')).toBe(false);
    expect(await accounts.grantUser(bob.id, 'integration')).toBe(true);
    expect(await accounts.grantUser(bob.id, 'integration')).toBe(false);
    const role = await accounts.createRole({ name: 'Ops', description: '' });
    expect(await accounts.grantRole(role.id, 'integration')).toBe(true);
    expect(await accounts.grantRole(role.id, 'integration')).toBe(false);
    expect(await accounts.rolesGranting(bob.id, 'integration')).toEqual([]);
    await accounts.addUserRole(bob.id, role.id);
    expect(await accounts.rolesGranting(bob.id, 'integration')).toEqual(['Ops']);
    expect(await accounts.rolesGranting(bob.id, 'campaign')).toEqual([]);
    expect(await accounts.revokeUser(bob.id, 'integration')).toBe(true);
    expect(await accounts.revokeUser(bob.id, 'integration')).toBe(false);
    expect(await accounts.revokeRole(role.id, 'integration')).toBe(true);
    expect(await accounts.revokeRole(role.id, 'integration')).toBe(false);
    expect(await accounts.rolesGranting(bob.id, 'integration')).toEqual([]);
  });

  it('answers 404 naming an unknown user or role on every grant and role route', async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const bob = await t.user();
    const role = await t.accounts.createRole({ name: 'Ops', description: '' });
    const none = '00000000-0000-7000-8000-000000000000';
    const cases: ['PUT' | 'DELETE', string, string][] = [
      ['PUT', `/api/v1/users/${none}/permissions/integration`, `No user ${none}`],
      ['DELETE', `/api/v1/users/${none}/permissions/integration`, `No user ${none}`],
      ['PUT', `/api/v1/roles/${none}/permissions/integration`, `No role ${none}`],
      ['DELETE', `/api/v1/roles/${none}/permissions/integration`, `No role ${none}`],
      ['PUT', `/api/v1/users/${none}/roles/${role.id}`, `No user ${none}`],
      ['DELETE', `/api/v1/users/${none}/roles/${role.id}`, `No user ${none}`],
      ['PUT', `/api/v1/users/${bob.id}/roles/${none}`, `No role ${none}`],
      ['DELETE', `/api/v1/users/${bob.id}/roles/${none}`, `No role ${none}`],
    ];
    for (const [method, url, message] of cases) {
      const res = await t.app.inject({ method, url, headers: admin.headers });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json<{ error: { message: string } }>().error.message).toBe(message);
    }
    // A role the user does not have is removed idempotently.
    const take = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${bob.id}/roles/${role.id}`,
      headers: admin.headers,
    });
    expect(take.statusCode).toBe(204);
  });

  it('admins hold every permission; a disabled user and a revoked key stop at once', async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    expect(await status(admin.headers)).toBe(200);
    const bob = await t.user({ grants: ['user_admin'] });
    expect(await status(bob.headers)).toBe(200);
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${bob.id}`,
      headers: admin.headers,
      payload: { disabled: true },
    });
    expect(await status(bob.headers)).toBe(401);
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${bob.id}`,
      headers: admin.headers,
      payload: { disabled: false },
    });
    expect(await status(bob.headers)).toBe(200);

    const created = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/api-keys',
        headers: await t.signIn(bob),
        payload: { name: 'dialer' },
      })
    ).json<{ id: string; key: string }>();
    const keyHeaders = { authorization: `Bearer ${created.key}` };
    expect(await status(keyHeaders)).toBe(200);
    expect(
      (
        await t.app.inject({
          method: 'DELETE',
          url: `/api/v1/api-keys/${created.id}`,
          headers: bob.headers,
        })
      ).statusCode,
    ).toBe(204);
    expect(await status(keyHeaders)).toBe(401);
    expect(await status({ authorization: 'Bearer chk_not-a-key' })).toBe(401);
    expect(await status({ authorization: 'Basic abc' })).toBe(401);
  });

  it('lets user_admin manage users but never make or take over an admin', async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const manager = await t.user({ grants: ['user_admin'] });
    const patch = (id: string, payload: object, who = manager) =>
      t!.app.inject({ method: 'PATCH', url: `/api/v1/users/${id}`, headers: who.headers, payload });
    expect((await patch(manager.id, { admin: true })).statusCode).toBe(403);
    expect((await patch(admin.id, { password: 'taken-over-1' })).statusCode).toBe(403);
    expect((await patch(admin.id, { disabled: true })).statusCode).toBe(403);
    const create = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: manager.headers,
      payload: { email: 'new-admin@example.com', password: 'long-enough', name: 'N', admin: true },
    });
    expect(create.statusCode).toBe(403);
    expect(create.json().error.message).toBe('Only an admin can create an admin');
    // Nor an admin's grants and roles, which would hold once the admin flag is cleared.
    const role = await t.app.inject({
      method: 'POST',
      url: '/api/v1/roles',
      headers: manager.headers,
      payload: { name: 'ops' },
    });
    for (const [method, url] of [
      ['PUT', `/api/v1/users/${admin.id}/permissions/integration`],
      ['DELETE', `/api/v1/users/${admin.id}/permissions/integration`],
      ['PUT', `/api/v1/users/${admin.id}/roles/${role.json().id}`],
      ['DELETE', `/api/v1/users/${admin.id}/roles/${role.json().id}`],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: manager.headers });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().error.message).toBe(
        "Only an admin can change an admin's permissions or roles",
      );
    }
    const detail = await t.app.inject({ url: `/api/v1/users/${admin.id}`, headers: admin.headers });
    expect(detail.json()).toMatchObject({ permissions: [], roleIds: [] });
    // Ordinary users are theirs to manage; an admin may do all of it.
    const plain = await t.user();
    expect((await patch(plain.id, { name: 'Renamed', disabled: true })).statusCode).toBe(200);
    expect((await patch(manager.id, { admin: true }, admin)).statusCode).toBe(200);
  });

  it("lets only an admin set another user's password; a user_admin still sets their own", async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const manager = await t.user({ grants: ['user_admin'] });
    const bob = await t.user({ grants: ['integration'] });
    const patch = (id: string, payload: object, who = manager) =>
      t!.app.inject({ method: 'PATCH', url: `/api/v1/users/${id}`, headers: who.headers, payload });
    const login = async (email: string, password: string) =>
      (
        await t!.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email, password },
        })
      ).statusCode;

    const takeover = await patch(bob.id, { password: 'attacker-pass' });
    expect(takeover.statusCode).toBe(403);
    expect(takeover.json().error.message).toBe("Only an admin can set another user's password");
    expect(await login(bob.email, 'attacker-pass')).toBe(401);
    expect(await login(bob.email, bob.password)).toBe(200);
    // The rest of a plain user's account stays the user_admin's to manage.
    expect((await patch(bob.id, { name: 'Bob' })).statusCode).toBe(200);

    // Their own password, signed in with the old one; an API key of theirs may not change it.
    const byKey = await patch(manager.id, { password: 'key-set-pass' });
    expect(byKey.statusCode).toBe(403);
    expect(byKey.json().error.code).toBe('SESSION_REQUIRED');
    expect(await login(manager.email, 'key-set-pass')).toBe(401);
    const signedIn = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${manager.id}`,
      headers: await t.signIn(manager),
      payload: { password: 'my-own-new-pass' },
    });
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    expect(await login(manager.email, 'my-own-new-pass')).toBe(200);
    expect((await patch(bob.id, { password: 'set-by-admin' }, admin)).statusCode).toBe(200);
    expect(await login(bob.email, 'set-by-admin')).toBe(200);
  });

  it('refuses to let an admin disable themselves', async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${admin.id}`,
      headers: admin.headers,
      payload: { disabled: true },
    });
    expect(res.statusCode).toBe(409);
  });

  it('always keeps an active admin: two admins demoting each other at once leave one', async () => {
    t = await createTestApp(backend);
    const ann = await t.user({ admin: true });
    const bob = await t.user({ admin: true });
    const demote = (who: typeof ann, whom: typeof ann) =>
      t!.app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${whom.id}`,
        headers: who.headers,
        payload: { admin: false },
      });
    // Each is an admin when the request is let in (were the second let in after the first was
    // written, it would be 403: no longer an admin); the writes take turns.
    const answers = await Promise.all([demote(ann, bob), demote(bob, ann)]);
    const statuses = answers.map((a) => a.statusCode).sort();
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const refused = answers.find((a) => a.statusCode === 409);
    if (refused !== undefined)
      expect(refused.json().error.message).toMatch(
        /is the last active admin: make another admin first$/,
      );
    const admins = await t.store.store.db
      .selectFrom('users')
      .select('id')
      .where('admin', '=', 1)
      .execute();
    expect(admins).toHaveLength(1);
    // The store itself refuses it too, whoever asks.
    await expect(t.accounts.updateUser(admins[0]!.id, { disabled: true })).rejects.toThrow(
      /is the last active admin/,
    );
  });

  it('answers a taken email with 409 naming the field, and a bad body with 400 naming each field', async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const body = { email: 'dup@example.com', password: 'long-enough', name: 'D' };
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/users',
          headers: admin.headers,
          payload: body,
        })
      ).statusCode,
    ).toBe(201);
    const dup = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: admin.headers,
      payload: { ...body, email: 'DUP@example.com' },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.details).toEqual([{ field: 'body.email', message: 'is taken' }]);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: admin.headers,
      payload: { email: 'nope', password: 'short' },
    });
    expect(bad.statusCode).toBe(400);
    const fields = bad
      .json()
      .error.details.map((d: { field: string }) => d.field)
      .sort();
    expect(fields).toEqual(['body.email', 'body.name', 'body.password']);
  });
});

describe('an unknown permission', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('is answered with one detail per place it is named, not one per permission it is not', async () => {
    const PERMISSION_LIST = `must be one of: ${PERMISSIONS.join(', ')}`;
    t = await createTestApp('sqlite');
    const admin = await t.user({ admin: true });
    const grant = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${admin.id}/permissions/integrations`,
      headers: admin.headers,
    });
    expect(grant.statusCode).toBe(400);
    expect(grant.json().error.details).toEqual([
      { field: 'params.permission', message: PERMISSION_LIST },
    ]);
    const role = await t.app.inject({
      method: 'POST',
      url: '/api/v1/roles',
      headers: admin.headers,
      payload: { name: 'R', permissions: ['integration', 'nope'] },
    });
    expect(role.statusCode).toBe(400);
    expect(role.json().error.details).toEqual([
      { field: 'body.permissions.1', message: PERMISSION_LIST },
    ]);
  });
});
