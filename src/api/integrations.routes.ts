/** Integrations (permission `integration`): create, list, read, update (a new version), delete. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError, type ErrorDetail } from '../errors.js';
import { ownerScope, principalOf } from '../auth/authorize.js';
import type { IntegrationStore, IntegrationEdit } from '../store/integration-store.js';
import { UniqueConflict } from '../store/db.js';
import {
  ifMatchHolds,
  integrationTag,
  type Integration,
  type IntegrationType,
} from '../domain/integration.js';
import { maskSecrets, sealSecrets, type SecretSealer } from '../domain/integration-secrets.js';
import { IdParams, PageQuery, pageOf } from './schemas.js';
import { idCursor, withIdCursor } from './page-cursor.js';
import {
  EditHeaders,
  IntegrationCreate,
  IntegrationHealthOut,
  IntegrationOut,
  IntegrationPatch,
  IntegrationTypeSchema,
} from './integrations.schemas.js';
import { checkConfigAndOptions, type IntegrationConfig } from './integration-input.js';
import type { IntegrationOptions } from '../domain/integration.js';
import { mergePatch } from '../domain/merge-patch.js';
import { isoTime } from '../domain/accounts.js';
import { refuseDeepBody } from './json-depth.js';

/** Checks what only the token language (and, for SOAP, the WSDL) can tell. */
export type IntegrationChecker = (
  type: IntegrationType,
  config: IntegrationConfig,
  options: IntegrationOptions,
) => Promise<ErrorDetail[]> | ErrorDetail[];

export interface IntegrationRoutesOptions {
  integrations: IntegrationStore;
  sealer: SecretSealer;
  check: IntegrationChecker;
}

const access = { access: 'integration' } as const;
const tags = ['integrations'];

/** The API's view: secrets masked. */
export function present(integration: Integration): Integration {
  return { ...integration, ...maskSecrets(integration.config, integration.options) } as Integration;
}

/** The integration `id` as `owner` sees it (undefined: whoever owns it); 404 NOT_FOUND otherwise. */
export async function mustFindIntegration(
  integrations: IntegrationStore,
  id: string,
  owner: string | undefined,
): Promise<Integration> {
  const found = await integrations.find(id, owner);
  if (found === undefined) throw new AppError('NOT_FOUND', `No integration ${id}`);
  return found;
}

export const integrationsRoutes: FastifyPluginAsyncTypebox<IntegrationRoutesOptions> = async (
  app,
  { integrations, sealer, check },
) => {
  /** Validates and seals a full definition; throws 400 with every problem at once. */
  const prepare = async <Base extends { type: IntegrationType }>(
    base: Base,
    rawConfig: unknown,
    rawOptions: unknown,
    previous?: Integration,
  ): Promise<Base & Pick<IntegrationEdit, 'config' | 'options'>> => {
    const shaped = checkConfigAndOptions(base.type, rawConfig, rawOptions);
    const invalid = (problems: ErrorDetail[]) =>
      new AppError('VALIDATION_FAILED', 'The integration is not valid', problems);
    // Sealing walks the secrets as typed strings: a wrong shape (headers as an object, a numeric
    // secret) must be answered before it, or it throws.
    if (shaped.problems.length > 0) throw invalid(shaped.problems);
    const sealed = sealSecrets(shaped.config, shaped.options, sealer, previous);
    const problems: ErrorDetail[] = [...sealed.problems];
    if (problems.length === 0)
      problems.push(...(await check(base.type, shaped.config, shaped.options)));
    if (problems.length > 0) throw invalid(problems);
    return { ...base, config: sealed.config, options: sealed.options };
  };

  const mustFind = (id: string, owner: string | undefined) =>
    mustFindIntegration(integrations, id, owner);

  app.get(
    '/api/v1/integrations',
    {
      config: access,
      schema: {
        tags,
        querystring: Type.Intersect([
          PageQuery,
          Type.Object({
            type: Type.Optional(IntegrationTypeSchema),
            enabled: Type.Optional(Type.Boolean()),
          }),
        ]),
        response: { 200: pageOf(IntegrationOut) },
      },
    },
    async (request) => {
      const { cursor, limit, type, enabled } = request.query;
      const page = await integrations.list(
        { ownerId: ownerScope(request), type, enabled },
        { cursor: idCursor(cursor), limit },
      );
      return withIdCursor({ ...page, items: page.items.map(present) });
    },
  );

  app.post(
    '/api/v1/integrations',
    {
      config: access,
      preValidation: refuseDeepBody,
      schema: { tags, body: IntegrationCreate, response: { 201: IntegrationOut } },
    },
    async (request, reply) => {
      const { name, description, enabled, type, config, options } = request.body;
      const input = await prepare({ name, description, enabled, type }, config, options);
      const created = await integrations.create(principalOf(request).user.id, input);
      request.log.info({ integrationId: created.id, type }, 'integration created');
      return reply.code(201).header('etag', integrationTag(created)).send(present(created));
    },
  );

  app.get(
    '/api/v1/integrations/:id',
    { config: access, schema: { tags, params: IdParams, response: { 200: IntegrationOut } } },
    async (request, reply) => {
      const found = await mustFind(request.params.id, ownerScope(request));
      return reply.header('etag', integrationTag(found)).send(present(found));
    },
  );

  const changedMeanwhile = () =>
    new AppError('CONFLICT', 'The integration changed meanwhile; read it again and retry');

  /**
   * Saves a PUT (`replace`) or PATCH of the integration the request names, checked against its
   * `If-Match` header when it has one; the new version.
   */
  const update = async (
    request: FastifyRequest & {
      params: { id: string };
      headers: { 'if-match'?: string | undefined };
      body: IntegrationPatch;
    },
    replace: boolean,
  ) => {
    const patch = request.body;
    const current = await mustFind(request.params.id, ownerScope(request));
    const ifMatch = request.headers['if-match']
      ?.split(',')
      .map((tag) => tag.trim().replace(/^W\//, ''));
    // A PATCH that names nothing changes nothing: no new version, which would make an editor
    // holding this version's tag meet a 409 for an edit that never happened. Its If-Match holds.
    if (!replace && Object.keys(patch).length === 0) {
      if (!ifMatchHolds(ifMatch, current)) throw changedMeanwhile();
      return current;
    }
    if (patch.type !== undefined && patch.type !== current.type) {
      throw new AppError('VALIDATION_FAILED', 'The type of an integration cannot change', [
        {
          field: 'body.type',
          message: `is ${current.type} and cannot change: create a new ${patch.type} integration instead`,
        },
      ]);
    }
    // `enabled` left out keeps what is stored when the edit is written, not what was read here.
    const base = {
      name: patch.name ?? current.name,
      description: patch.description ?? current.description,
      enabled: patch.enabled,
      type: current.type,
    };
    // A masked secret in the merged config stands for the stored one (sealSecrets keeps it).
    const masked = maskSecrets(current.config, current.options);
    // A PATCH's config and options are JSON Merge Patches (RFC 7396): objects merge at every
    // depth, null removes a key.
    const config = replace ? patch.config : mergePatch(masked.config, patch.config ?? {});
    const options = replace
      ? (patch.options ?? {})
      : mergePatch(masked.options, patch.options ?? {});
    const input = await prepare(base, config, options, current);
    try {
      return await integrations.update(current, input, { ifMatch });
    } catch (error) {
      if (error instanceof UniqueConflict) {
        throw changedMeanwhile();
      }
      throw error;
    }
  };

  const editSchema = {
    tags,
    params: IdParams,
    headers: EditHeaders,
    response: { 200: IntegrationOut },
  };

  app.put(
    '/api/v1/integrations/:id',
    {
      config: access,
      preValidation: refuseDeepBody,
      schema: {
        ...editSchema,
        summary: 'Replace the definition (a new version); masked secrets keep their stored values',
        body: Type.Object(
          {
            name: IntegrationCreate.properties.name,
            description: IntegrationCreate.properties.description,
            type: IntegrationPatch.properties.type,
            enabled: IntegrationPatch.properties.enabled,
            config: IntegrationCreate.properties.config,
            options: IntegrationCreate.properties.options,
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const saved = await update(request, true);
      return reply.header('etag', integrationTag(saved)).send(present(saved));
    },
  );

  app.patch(
    '/api/v1/integrations/:id',
    {
      config: access,
      preValidation: refuseDeepBody,
      schema: {
        ...editSchema,
        summary:
          'Change some fields (a new version); config and options are JSON Merge Patches (RFC 7396)',
        body: IntegrationPatch,
      },
    },
    async (request, reply) => {
      const saved = await update(request, false);
      return reply.header('etag', integrationTag(saved)).send(present(saved));
    },
  );

  app.get(
    '/api/v1/integrations/:id/health',
    {
      config: access,
      schema: {
        tags,
        summary:
          'How its deliveries are doing: circuit, failure streak, hold, pending and in flight',
        params: IdParams,
        response: { 200: IntegrationHealthOut },
      },
    },
    async (request) => {
      const { id } = request.params;
      await mustFind(id, ownerScope(request));
      const health = await integrations.health(id);
      return {
        ...health,
        probeAt: isoTime(health.probeAt),
        failingSince: isoTime(health.failingSince),
        hold: health.hold === null ? null : { ...health.hold, until: isoTime(health.hold.until)! },
      };
    },
  );

  app.delete(
    '/api/v1/integrations/:id',
    {
      config: access,
      schema: {
        tags,
        summary: 'Delete: bindings removed, pending deliveries cancelled, history kept',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      if (!(await integrations.delete(request.params.id, ownerScope(request)))) {
        throw new AppError('NOT_FOUND', `No integration ${request.params.id}`);
      }
      request.log.info({ integrationId: request.params.id }, 'integration deleted');
      return reply.code(204).send(null);
    },
  );
};
