/** The caller's own API keys: created (shown once), listed, revoked. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import type { AccountStore } from '../store/account-store.js';
import { principalOf } from '../auth/authorize.js';
import { ApiKey, ApiKeyName, IdParams } from './schemas.js';

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
        response: { 200: Type.Object({ items: Type.Array(ApiKey), nextCursor: Type.Null() }) },
      },
    },
    async (request) => ({
      items: await accounts.credentials.listApiKeys(principalOf(request).user.id),
      nextCursor: null,
    }),
  );

  app.post(
    '/api/v1/api-keys',
    {
      config: access,
      schema: {
        tags,
        summary: 'Create an API key; the key is in this answer only',
        body: Type.Object({ name: ApiKeyName }, { additionalProperties: false }),
        response: { 201: Type.Intersect([ApiKey, Type.Object({ key: Type.String() })]) },
      },
    },
    async (request, reply) => {
      const key = await accounts.credentials.createApiKey(
        principalOf(request).user.id,
        request.body.name,
      );
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
        summary: 'Revoke one of your API keys',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      if (
        !(await accounts.credentials.revokeApiKey(principalOf(request).user.id, request.params.id))
      ) {
        throw new AppError('NOT_FOUND', `No active API key ${request.params.id}`);
      }
      return reply.code(204).send(null);
    },
  );
};
