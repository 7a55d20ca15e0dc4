/**
 * API keys: the caller's own, created (shown once), listed, revoked; and another user's, listed
 * and revoked by those who manage that user (docs/accounts.md "Managing others' API keys").
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import type { AccountStore } from '../store/account-store.js';
import { adminOnly, holds, mustBeSignedIn, principalOf } from '../auth/authorize.js';
import type { Principal, User } from '../domain/accounts.js';
import { ApiKey, ApiKeyName, IdParams, PageQuery, pageOf } from './schemas.js';
import { idCursor, withIdCursor } from './page-cursor.js';

const access = { access: 'authenticated' } as const;
const tags = ['api-keys'];

export const apiKeysRoutes: FastifyPluginAsyncTypebox<{ accounts: AccountStore }> = async (
  app,
  { accounts },
) => {
  app.get(
    '/api/v1/api-keys',
    {
      config: access,
      schema: {
        tags,
        summary: "Your API keys, or with `userId` another user's (admin or user_admin)",
        querystring: Type.Object({
          userId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          ...PageQuery.properties,
        }),
        response: { 200: pageOf(ApiKey) },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      const { userId = caller.user.id, cursor, limit } = request.query;
      const page = { cursor: idCursor(cursor), limit };
      if (userId !== caller.user.id) {
        mayManageOthers(caller);
        const target = await accounts.findUser(userId);
        if (target === undefined) throw new AppError('NOT_FOUND', `No user ${userId}`);
        mayManageKeysOf(caller, target);
      }
      return withIdCursor(await accounts.credentials.listApiKeys(userId, page));
    },
  );

  app.post(
    '/api/v1/api-keys',
    {
      config: access,
      schema: {
        tags,
        summary:
          'Create an API key (signed in with a password, not with a key); the key is in this answer only',
        body: Type.Object({ name: ApiKeyName }, { additionalProperties: false }),
        response: { 201: Type.Intersect([ApiKey, Type.Object({ key: Type.String() })]) },
      },
    },
    async (request, reply) => {
      const caller = principalOf(request);
      mustBeSignedIn(caller, 'create API keys');
      const key = await accounts.credentials.createApiKey(caller.user.id, request.body.name);
      request.log.info({ keyId: key.id }, 'API key created');
      return reply.code(201).send(key);
    },
  );

  app.delete(
    '/api/v1/api-keys/:id',
    {
      config: access,
      schema: {
        tags,
        summary: "Revoke one of your API keys, or another user's (admin or user_admin)",
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const caller = principalOf(request);
      const notFound = () => new AppError('NOT_FOUND', `No active API key ${request.params.id}`);
      const key = await accounts.credentials.findApiKey(request.params.id);
      if (key === undefined || key.revokedAt !== null) throw notFound();
      if (key.userId !== caller.user.id) {
        // Another user's key reads as not found to whoever cannot manage that user's account.
        if (!managesOthers(caller)) throw notFound();
        const owner = await accounts.findUser(key.userId);
        if (owner === undefined) throw notFound();
        mayManageKeysOf(caller, owner);
      }
      if (!(await accounts.credentials.revokeApiKey(key.userId, key.id))) throw notFound();
      request.log.info({ keyId: key.id, userId: key.userId }, 'API key revoked');
      return reply.code(204).send(null);
    },
  );
};

/** Whether `caller` manages other users' accounts: an admin, or a `user_admin` holder. */
const managesOthers = (caller: Principal) => holds(caller, 'user_admin');

function mayManageOthers(caller: Principal): void {
  if (!managesOthers(caller)) {
    throw new AppError('FORBIDDEN', "Only user_admin holders and admins see other users' keys", {
      permission: 'user_admin',
    });
  }
}

/**
 * As for the rest of an account (users.routes.ts): a `user_admin` holder manages the keys of
 * users who are not admins; an admin's, only an admin.
 */
function mayManageKeysOf(caller: Principal, target: User): void {
  if (target.admin && !caller.user.admin) throw adminOnly("manage an admin's API keys");
}
