/** Role management (permission `user_admin`): roles and their grants. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import type { AccountStore } from '../store/account-store.js';
import { UniqueConflict } from '../store/db.js';
import { grantRoutes } from './grants.routes.js';
import { DisplayName, IdParams, PageQuery, Permission, Role, pageOf } from './schemas.js';
import { idCursor, withIdCursor } from './page-cursor.js';

const access = { access: 'user_admin' } as const;
const tags = ['roles'];
const RoleName = DisplayName(100);

export const rolesRoutes: FastifyPluginAsyncTypebox<{ accounts: AccountStore }> = async (
  app,
  { accounts },
) => {
  const mustFindRole = async (id: string) => {
    const role = await accounts.findRole(id);
    if (role === undefined) throw new AppError('NOT_FOUND', `No role ${id}`);
    return role;
  };
  const nameTaken = (name: string) =>
    new AppError('CONFLICT', `A role named ${name} exists`, [
      { field: 'body.name', message: 'is taken' },
    ]);

  app.get(
    '/api/v1/roles',
    { config: access, schema: { tags, querystring: PageQuery, response: { 200: pageOf(Role) } } },
    async (request) => {
      const { cursor, limit } = request.query;
      return withIdCursor(await accounts.listRoles({ cursor: idCursor(cursor), limit }));
    },
  );

  app.post(
    '/api/v1/roles',
    {
      config: access,
      schema: {
        tags,
        body: Type.Object(
          {
            name: RoleName,
            description: Type.String({ maxLength: 1000, default: '' }),
            permissions: Type.Array(Permission, { default: [], uniqueItems: true }),
          },
          { additionalProperties: false },
        ),
        response: { 201: Role },
      },
    },
    async (request, reply) => {
      const { name, description, permissions } = request.body;
      try {
        const role = await accounts.createRole({ name, description, permissions });
        return reply.code(201).send(role);
      } catch (error) {
        if (error instanceof UniqueConflict) throw nameTaken(name);
        throw error;
      }
    },
  );

  app.get(
    '/api/v1/roles/:id',
    { config: access, schema: { tags, params: IdParams, response: { 200: Role } } },
    async (request) => mustFindRole(request.params.id),
  );

  app.patch(
    '/api/v1/roles/:id',
    {
      config: access,
      schema: {
        tags,
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(RoleName),
            description: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Role },
      },
    },
    async (request) => {
      await mustFindRole(request.params.id);
      try {
        return (await accounts.updateRole(request.params.id, request.body))!;
      } catch (error) {
        if (error instanceof UniqueConflict) throw nameTaken(request.body.name ?? '');
        throw error;
      }
    },
  );

  app.delete(
    '/api/v1/roles/:id',
    { config: access, schema: { tags, params: IdParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      if (!(await accounts.deleteRole(request.params.id)))
        throw new AppError('NOT_FOUND', `No role ${request.params.id}`);
      return reply.code(204).send(null);
    },
  );

  await app.register(grantRoutes, {
    subject: 'role',
    mustFind: mustFindRole,
    grant: (id, permission) => accounts.grantRole(id, permission),
    revoke: (id, permission) => accounts.revokeRole(id, permission),
  });
};
