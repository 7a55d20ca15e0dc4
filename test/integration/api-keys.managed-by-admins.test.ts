/**
 * Admins (and `user_admin` holders, for users who are not admins) list and revoke other users'
 * API keys: a leaked dialer key can be killed without disabling its user. Everyone else sees
 * only their own keys, and another user's key reads as not found.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';

interface KeyView {
  id: string;
  userId: string;
  name: string;
  revokedAt: string | null;
}

describe.each(DIALECTS)("other users' API keys on %s", (backend) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const newKey = async (who: TestUser, name = 'dialer') => {
    const created = await t!.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: await t!.signIn(who),
      payload: { name },
    });
    expect(created.statusCode, created.body).toBe(201);
    const key = created.json<KeyView & { key: string }>();
    expect(key.userId).toBe(who.id);
    return { ...key, headers: { authorization: `Bearer ${key.key}` } };
  };
  const list = (who: TestUser, userId?: string) =>
    t!.app.inject({
      url: `/api/v1/api-keys${userId === undefined ? '' : `?userId=${userId}`}`,
      headers: who.headers,
    });
  const revoke = (who: TestUser, keyId: string) =>
    t!.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${keyId}`, headers: who.headers });
  const me = async (headers: Record<string, string>) =>
    (await t!.app.inject({ url: '/api/v1/me', headers })).statusCode;

  it("lets an admin list and revoke another user's key; the key stops at once", async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const bob = await t.user({ grants: ['event_ingest'] });
    const key = await newKey(bob);
    await newKey(admin, 'own');
    expect(await me(key.headers)).toBe(200);

    const listed = await list(admin, bob.id);
    expect(listed.statusCode, listed.body).toBe(200);
    const bobs = listed.json<{ items: KeyView[] }>().items;
    expect(bobs).toContainEqual(
      expect.objectContaining({ id: key.id, userId: bob.id, name: 'dialer', revokedAt: null }),
    );
    expect(bobs.every((k) => k.userId === bob.id)).toBe(true);
    // Without userId: the caller's own keys, as before (the test user's own key among them).
    const own = (await list(admin)).json<{ items: KeyView[] }>().items;
    expect(own.map((k) => k.name)).toContain('own');
    expect(own.every((k) => k.userId === admin.id)).toBe(true);

    expect((await revoke(admin, key.id)).statusCode).toBe(204);
    expect(await me(key.headers)).toBe(401);
    const after = (await list(admin, bob.id)).json<{ items: KeyView[] }>().items;
    expect(after.find((k) => k.id === key.id)!.revokedAt).not.toBeNull();
    // Revoked already: not an active key any more.
    const again = await revoke(admin, key.id);
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it("lets a user_admin manage a non-admin's keys, but not an admin's", async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const manager = await t.user({ grants: ['user_admin'] });
    const bob = await t.user();
    const bobKey = await newKey(bob);
    const adminKey = await newKey(admin);

    expect((await list(manager, bob.id)).statusCode).toBe(200);
    expect((await revoke(manager, bobKey.id)).statusCode).toBe(204);
    expect(await me(bobKey.headers)).toBe(401);

    const listAdmin = await list(manager, admin.id);
    expect(listAdmin.statusCode).toBe(403);
    expect(listAdmin.json()).toMatchObject({
      error: { code: 'FORBIDDEN', details: { permission: 'admin' } },
    });
    const revokeAdmin = await revoke(manager, adminKey.id);
    expect(revokeAdmin.statusCode).toBe(403);
    expect(revokeAdmin.json()).toMatchObject({
      error: { code: 'FORBIDDEN', details: { permission: 'admin' } },
    });
    expect(await me(adminKey.headers)).toBe(200);
  });

  it("keeps everyone else to their own keys: another's reads as not found", async () => {
    t = await createTestApp(backend);
    const alice = await t.user({ grants: ['integration', 'campaign'] });
    const bob = await t.user();
    const bobKey = await newKey(bob);

    const listed = await list(alice, bob.id);
    expect(listed.statusCode).toBe(403);
    expect(listed.json()).toMatchObject({
      error: { code: 'FORBIDDEN', details: { permission: 'user_admin' } },
    });
    // Naming oneself is the same as naming no one.
    expect((await list(alice, alice.id)).statusCode).toBe(200);

    const revoked = await revoke(alice, bobKey.id);
    expect(revoked.statusCode).toBe(404);
    expect(revoked.json()).toMatchObject({
      error: { code: 'NOT_FOUND', message: `No active API key ${bobKey.id}` },
    });
    expect(await me(bobKey.headers)).toBe(200);
  });

  it('answers 404 for an unknown user or key, 400 for an empty userId', async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const unknownUser = await list(admin, 'no-such-user');
    expect(unknownUser.statusCode).toBe(404);
    expect(unknownUser.json()).toMatchObject({
      error: { code: 'NOT_FOUND', message: 'No user no-such-user' },
    });
    expect((await revoke(admin, 'no-such-key')).statusCode).toBe(404);
    const bad = await t.app.inject({ url: '/api/v1/api-keys?userId=', headers: admin.headers });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });

  it("pages a user's keys like every other list: limit and cursor, oldest first", async () => {
    t = await createTestApp(backend);
    const admin = await t.user({ admin: true });
    const bob = await t.user();
    const made = [];
    for (const name of ['a', 'b', 'c']) made.push(await newKey(bob, name));
    const page = (query: string) =>
      t!.app.inject({ url: `/api/v1/api-keys?userId=${bob.id}&${query}`, headers: admin.headers });
    const first = (await page('limit=2')).json<{ items: KeyView[]; nextCursor: string | null }>();
    // The test user's own key ('test') came first.
    expect(first.items.map((k) => k.name)).toEqual(['test', 'a']);
    expect(first.nextCursor).toEqual(expect.any(String));
    const rest = await page(`limit=2&cursor=${first.nextCursor}`);
    expect(rest.json()).toMatchObject({ items: [{ name: 'b' }, { name: 'c' }], nextCursor: null });
    expect((await page('limit=0')).statusCode).toBe(400);
    expect((await page('cursor=')).statusCode).toBe(400);
  });
});
