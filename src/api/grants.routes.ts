/**
 * `PUT` (grant) and `DELETE` (remove) of `…/:id/permissions/:permission`, the same for users and
 * for roles (permission `user_admin`): registered once per subject by users and roles routes.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Permission as PermissionName } from '../domain/permissions.js';
import { IdParams, Permission } from './schemas.js';

export interface GrantRoutesOptions {
  /** `user` or `role`: names the routes, the summaries and the log fields. */
  subject: 'user' | 'role';
  /** Throws NOT_FOUND when there is no such subject, FORBIDDEN when the caller may not change it. */
  mustFind(id: string, request: FastifyRequest): Promise<unknown>;
  /** True when the grant is new. */
  grant(id: string, permission: PermissionName): Promise<boolean>;
  /** True when there was a grant to remove. */
  revoke(id: string, permission: PermissionName): Promise<boolean>;
}

export const grantRoutes: FastifyPluginAsyncTypebox<GrantRoutesOptions> = async (app, options) => {
  const { subject } = options;
  const params = Type.Object({ id: IdParams.properties.id, permission: Permission });
  const verbs = [
    {
      method: 'PUT',
      summary: `Grant a permission to a ${subject}`,
      apply: options.grant,
      done: 'granted',
      unchanged: 'already granted',
    },
    {
      method: 'DELETE',
      summary: `Remove a permission from a ${subject}`,
      apply: options.revoke,
      done: 'removed',
      unchanged: 'not granted: nothing removed',
    },
  ] as const;
  for (const verb of verbs) {
    app.route({
      method: verb.method,
      url: `/api/v1/${subject}s/:id/permissions/:permission`,
      config: { access: 'user_admin' },
      schema: {
        tags: [`${subject}s`],
        summary: verb.summary,
        params,
        response: { 204: Type.Null() },
      },
      handler: async (request, reply) => {
        const { id, permission } = request.params;
        await options.mustFind(id, request);
        // Idempotent: 204 either way (the user's detail says what they hold, and through what).
        const changed = await verb.apply(id, permission);
        request.log.info(
          { [`${subject}Id`]: id, permission, changed },
          `${subject} permission ${changed ? verb.done : verb.unchanged}`,
        );
        return reply.code(204).send(null);
      },
    });
  }
};
