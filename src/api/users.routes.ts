/** User management (permission `user_admin`): users, their direct grants and their roles. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import type { User as UserModel } from '../domain/accounts.js';
import { PERMISSIONS } from '../domain/permissions.js';
import { LastAdmin, type AccountStore } from '../store/account-store.js';
import { UniqueConflict } from '../store/db.js';
import { hashPassword } from '../auth/passwords.js';
import { adminOnly, mustBeSignedIn, principalOf } from '../auth/authorize.js';
import { grantRoutes } from './grants.routes.js';
import {
  Email,
  IdParams,
  PageQuery,
  Password,
  User,
  UserDetail,
  UserName,
  pageOf,
} from './schemas.js';
import { idCursor, withIdCursor } from './page-cursor.js';

export async function userDetail(accounts: AccountStore, user: UserModel) {
  const [permissions, effective, roleIds] = await Promise.all([
    accounts.directPermissions(user.id),
    accounts.effectivePermissions(user.id),
    accounts.userRoleIds(user.id),
  ]);
  return {
    ...user,
    permissions,
    effectivePermissions: user.admin
      ? [...PERMISSIONS]
      : PERMISSIONS.filter((p) => effective.has(p)),
    roleIds,
  };
}

const access = { access: 'user_admin' } as const;

const tags = ['users'];

export const usersRoutes: FastifyPluginAsyncTypebox<{ accounts: AccountStore }> = async (
  app,
  { accounts },
) => {
  const mustFindUser = async (id: string) => {
    const user = await accounts.findUser(id);
    if (user === undefined) throw new AppError('NOT_FOUND', `No user ${id}`);
    return user;
  };
  /** The user, when the caller may change their grants and roles: only an admin an admin's. */
  const mustFindChangeable = async (id: string, request: FastifyRequest) => {
    const user = await mustFindUser(id);
    if (user.admin && !principalOf(request).user.admin)
      throw adminOnly("change an admin's permissions or roles");
    return user;
  };
  const mustFindRole = async (id: string) => {
    const role = await accounts.findRole(id);
    if (role === undefined) throw new AppError('NOT_FOUND', `No role ${id}`);
    return role;
  };

  app.get(
    '/api/v1/users',
    { config: access, schema: { tags, querystring: PageQuery, response: { 200: pageOf(User) } } },
    async (request) => {
      const { cursor, limit } = request.query;
      return withIdCursor(await accounts.listUsers({ cursor: idCursor(cursor), limit }));
    },
  );

  app.post(
    '/api/v1/users',
    {
      config: access,
      schema: {
        tags,
        body: Type.Object(
          {
            email: Email,
            password: Password,
            name: UserName,
            admin: Type.Boolean({ default: false }),
          },
          { additionalProperties: false },
        ),
        response: { 201: UserDetail },
      },
    },
    async (request, reply) => {
      const { email, password, name, admin } = request.body;
      if (admin && !principalOf(request).user.admin) throw adminOnly('create an admin');
      try {
        const user = await accounts.createUser({
          email,
          name,
          admin,
          passwordHash: await hashPassword(password),
        });
        return reply.code(201).send(await userDetail(accounts, user));
      } catch (error) {
        if (error instanceof UniqueConflict)
          throw new AppError('CONFLICT', `A user with email ${email} exists`, [
            { field: 'body.email', message: 'is taken' },
          ]);
        throw error;
      }
    },
  );

  app.get(
    '/api/v1/users/:id',
    { config: access, schema: { tags, params: IdParams, response: { 200: UserDetail } } },
    async (request) => userDetail(accounts, await mustFindUser(request.params.id)),
  );

  app.patch(
    '/api/v1/users/:id',
    {
      config: access,
      schema: {
        tags,
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(UserName),
            admin: Type.Optional(Type.Boolean()),
            disabled: Type.Optional(Type.Boolean()),
            password: Type.Optional(Password),
          },
          { additionalProperties: false },
        ),
        response: { 200: UserDetail },
      },
    },
    async (request) => {
      const target = await mustFindUser(request.params.id);
      const { password, ...rest } = request.body;
      // `user_admin` manages users; only an admin makes admins, touches an admin's account or
      // sets another user's password (which would let a user_admin sign in as anyone and read
      // their integrations).
      const principal = principalOf(request);
      const caller = principal.user;
      if (password !== undefined && target.id === caller.id) {
        mustBeSignedIn(principal, 'change the password of its own user');
      }
      if (!caller.admin) {
        if (rest.admin !== undefined) throw adminOnly('change the admin flag');
        if (target.admin) throw adminOnly("change an admin's account");
        if (password !== undefined && target.id !== caller.id) {
          throw adminOnly("set another user's password");
        }
      }
      if (request.params.id === caller.id && (rest.disabled === true || rest.admin === false)) {
        throw new AppError('CONFLICT', 'You cannot disable yourself or remove your own admin flag');
      }
      const patch =
        password === undefined ? rest : { ...rest, passwordHash: await hashPassword(password) };
      const user = await accounts.updateUser(request.params.id, patch).catch((error: unknown) => {
        if (!(error instanceof LastAdmin)) throw error;
        throw new AppError(
          'CONFLICT',
          `${target.email} is the last active admin: make another admin first`,
        );
      });
      return userDetail(accounts, user!);
    },
  );

  await app.register(grantRoutes, {
    subject: 'user',
    mustFind: mustFindChangeable,
    grant: (id, permission) => accounts.grantUser(id, permission),
    revoke: (id, permission) => accounts.revokeUser(id, permission),
  });

  const roleParams = Type.Object({ id: IdParams.properties.id, roleId: IdParams.properties.id });
  app.put(
    '/api/v1/users/:id/roles/:roleId',
    {
      config: access,
      schema: {
        tags,
        summary: 'Give a user a role',
        params: roleParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await mustFindChangeable(request.params.id, request);
      await mustFindRole(request.params.roleId);
      await accounts.addUserRole(request.params.id, request.params.roleId);
      return reply.code(204).send(null);
    },
  );
  app.delete(
    '/api/v1/users/:id/roles/:roleId',
    {
      config: access,
      schema: {
        tags,
        summary: 'Take a role from a user',
        params: roleParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await mustFindChangeable(request.params.id, request);
      // An unknown role is 404, as for PUT: a wrong id is not "removed" (a role the user does not
      // have is, idempotently).
      await mustFindRole(request.params.roleId);
      await accounts.removeUserRole(request.params.id, request.params.roleId);
      return reply.code(204).send(null);
    },
  );
};
