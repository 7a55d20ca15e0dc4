/**
 * A password change or a disabled user ends the user's sessions. A sign-in checks the password
 * against the user it read first, and the check is slow (scrypt): a change that lands in between
 * must not be outlived by the session that sign-in then makes. The change is made, through the
 * real store, right after the sign-in has read the user: that is the interleaving under test.
 */
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { DIALECTS, postgresUrlWithSchema } from '../helpers/store.js';
import { AccountStore } from '../../src/store/account-store.js';
import { hashPassword } from '../../src/auth/passwords.js';

describe.each(DIALECTS)('a sign-in during an account change on %s', (backend) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await t?.close();
    t = undefined;
  });

  /** Signs `user` in while `change` is made between the sign-in's read of the user and its end. */
  const signInDuring = async (user: TestUser, change: () => Promise<unknown>) => {
    const read = AccountStore.prototype.findUserByEmail;
    let changed = false;
    vi.spyOn(AccountStore.prototype, 'findUserByEmail').mockImplementation(async function (
      this: AccountStore,
      email: string,
    ) {
      const found = await read.call(this, email);
      if (!changed) {
        changed = true;
        await change();
      }
      return found;
    });
    const answer = await t!.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: user.password },
    });
    expect(changed).toBe(true);
    vi.restoreAllMocks();
    const cookie = answer.cookies.find((c) => c.name === 'callhook_session')?.value;
    const me =
      cookie === undefined
        ? undefined
        : (
            await t!.app.inject({
              url: '/api/v1/me',
              headers: { cookie: `callhook_session=${cookie}` },
            })
          ).statusCode;
    return { status: answer.statusCode, me };
  };

  it('an old password being changed meanwhile gets no session that outlives the change', async () => {
    t = await createTestApp(backend);
    const bob = await t.user();
    const newHash = await hashPassword('the-new-password');
    const accounts = t.accounts;
    const result = await signInDuring(bob, () =>
      accounts.updateUser(bob.id, { passwordHash: newHash }),
    );
    expect(result).toEqual({ status: 401, me: undefined });
    // The new password signs in as usual.
    const fresh = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: bob.email, password: 'the-new-password' },
    });
    expect(fresh.statusCode).toBe(200);
  });

  it('a user disabled meanwhile gets no session, not even once enabled again', async () => {
    t = await createTestApp(backend);
    const bob = await t.user();
    const accounts = t.accounts;
    const result = await signInDuring(bob, () => accounts.updateUser(bob.id, { disabled: true }));
    expect(result.status).toBe(401);
    await accounts.updateUser(bob.id, { disabled: false });
    const sessions = await t.store.store.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', bob.id)
      .execute();
    expect(sessions).toEqual([]);
  });
});

describe('a session made while a password change is under way on postgres', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('waits for the change and is then not made', async () => {
    t = await createTestApp('postgres');
    const bob = await t.user();
    const { passwordHash } = (await t.accounts.findUserByEmail(bob.email))!;
    // Another connection changes the password and has not yet deleted the sessions nor committed
    // (AccountStore.updateUser does both in one transaction).
    const other = new pg.Client({ connectionString: postgresUrlWithSchema(t.store.location) });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(`update users set password_hash = 'changed' where id = $1`, [bob.id]);
      let settled = false;
      const made = t.accounts.credentials
        .createSession({ id: bob.id, passwordHash: passwordHash! }, 'h-1', 60_000)
        .finally(() => {
          settled = true;
        });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);
      await other.query('delete from sessions where user_id = $1', [bob.id]);
      await other.query('commit');
      expect(await made).toBe(false);
    } finally {
      await other.end();
    }
    const left = await t.store.store.db.selectFrom('sessions').select('id').execute();
    expect(left).toEqual([]);
  });
});
