/** Sign-in and the caller's own account: `auth/login`, `auth/logout`, `me`. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import type { AccountStore } from '../store/account-store.js';
import { DUMMY_HASH, verifyPassword } from '../auth/passwords.js';
import { newSessionToken, SESSION_COOKIE, SESSION_TTL_MS, sha256Hex } from '../auth/credentials.js';
import { throttleAddress, type LoginThrottle } from '../auth/login-throttle.js';
import { principalOf } from '../auth/authorize.js';
import { Email, User, UserDetail } from './schemas.js';
import { userDetail } from './users.routes.js';

export interface AuthRoutesOptions {
  accounts: AccountStore;
  throttle: LoginThrottle;
}

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (
  app,
  { accounts, throttle },
) => {
  app.post(
    '/api/v1/auth/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password; sets the session cookie',
        body: Type.Object({
          email: Email,
          password: Type.String({ minLength: 1, maxLength: 1024 }),
        }),
        response: { 200: Type.Object({ user: User }) },
      },
    },
    async (request, reply) => {
      const { email, password } = request.body;
      const account = `account:${email.trim().toLowerCase()}`;
      const address = `address:${throttleAddress(request.ip)}`;
      const keys = [account, address];
      const wait = throttle.waitMs(keys);
      if (wait > 0) {
        const retryAfterSeconds = Math.ceil(wait / 1000);
        request.log.warn({ email, ip: request.ip, retryAfterSeconds }, 'sign-in throttled');
        throw new AppError('RATE_LIMITED', 'Too many failed sign-ins; wait before trying again', {
          retryAfterSeconds,
        });
      }
      // Counted as a failure before the (slow) check, so parallel guesses cannot all slip in
      // before the first failure is recorded; a success clears the account's count and takes
      // back this attempt's from the address.
      throttle.recordFailure(keys);
      const user = await accounts.findUserByEmail(email);
      // Verify against a dummy hash when there is no such user, so timing does not tell.
      const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
      const fail = (reason: string) => {
        request.log.warn({ email, ip: request.ip, reason }, 'sign-in failed');
        return new AppError('INVALID_CREDENTIALS');
      };
      if (user === undefined) throw fail('unknown account');
      if (user.disabled) throw fail('disabled');
      if (!ok || user.passwordHash === null) throw fail('wrong password');
      const session = newSessionToken();
      // Made only if the password checked is still the user's and they are still enabled: a
      // change made during the (slow) check has ended their sessions, and this one too.
      const made = await accounts.credentials.createSession(
        { id: user.id, passwordHash: user.passwordHash },
        session.hash,
        SESSION_TTL_MS,
      );
      if (!made) throw fail('password changed or account disabled during sign-in');
      throttle.recordSuccess([account], [address]);
      void reply.setCookie(SESSION_COOKIE, session.token, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: request.protocol === 'https',
        maxAge: SESSION_TTL_MS / 1000,
      });
      request.log.info({ userId: user.id }, 'signed in');
      const { passwordHash: _hash, ...publicUser } = user;
      return { user: publicUser };
    },
  );

  app.post(
    '/api/v1/auth/logout',
    {
      config: { access: 'authenticated' },
      schema: { tags: ['auth'], summary: 'End the session', response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      if (token) await accounts.credentials.deleteSession(sha256Hex(token));
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/me',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user with effective permissions',
        response: { 200: UserDetail },
      },
    },
    async (request) => userDetail(accounts, principalOf(request).user),
  );
};
