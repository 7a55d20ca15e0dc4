/**
 * Campaigns mirrored from the dialer (permission `campaign`) and their integration bindings; an
 * integration campaign's settings too (which also need `integration`). Its runs:
 * campaign-runs.routes.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError, type ErrorDetail } from '../errors.js';
import { holds, ownerScope, principalOf } from '../auth/authorize.js';
import type { CampaignStore } from '../store/campaign-store.js';
import type { IntegrationStore } from '../store/integration-store.js';
import type { ContactStore } from '../store/contact-store.js';
import type { CampaignRunStore, RunAnswer } from '../store/campaign-run-store.js';
import { toCampaign, type CampaignRow, type RunSettings } from '../store/campaign-store.js';
import { UniqueConflict, unique, type Store } from '../store/db.js';
import { CALL_EVENT_TYPES, CALL_STATUSES, type CampaignType } from '../domain/campaign.js';
import { DisplayName, IdParams, PageQuery, pageOf } from './schemas.js';
import { idCursor, withIdCursor } from './page-cursor.js';
import {
  CampaignOut,
  RUN_SETTINGS,
  RunSettingsBody,
  RunSettingsPatch,
  campaignView,
} from './campaigns.schemas.js';
import type { FastifyRequest } from 'fastify';

const access = { access: 'campaign' } as const;
const tags = ['campaigns'];

const BindingBody = Type.Object(
  {
    campaignId: Type.Optional(
      Type.String({ description: "The campaign in the path; optional, as a GET's answer has it" }),
    ),
    integrationId: Type.String({ minLength: 1, maxLength: 100 }),
    on: Type.Array(Type.Enum(CALL_EVENT_TYPES), { minItems: 1, uniqueItems: true }),
    statuses: Type.Optional(
      Type.Array(Type.Enum(CALL_STATUSES), { minItems: 1, uniqueItems: true }),
    ),
  },
  { additionalProperties: false },
);
const Bindings = Type.Object(
  { bindings: Type.Array(BindingBody, { maxItems: 100 }) },
  { additionalProperties: false },
);
/** What a binding reads as (SPEC §1: `{campaignId, integrationId, on, statuses?}`). */
const BindingsOut = Type.Object({
  bindings: Type.Array(Type.Object({ ...BindingBody.properties, campaignId: Type.String() })),
});

export interface CampaignRoutesOptions {
  store: Store;
  campaigns: CampaignStore;
  integrations: IntegrationStore;
  contacts: ContactStore;
  runs: CampaignRunStore;
}

/** The answer of a run store change, or the API error it stands for. */
export function runAnswerRow(answer: RunAnswer, id: string) {
  if (answer.kind === 'not-found') throw new AppError('NOT_FOUND', `No campaign ${id}`);
  if (answer.kind === 'refused') throw new AppError('CONFLICT', answer.message, answer.details);
  return answer.row;
}

export const campaignsRoutes: FastifyPluginAsyncTypebox<CampaignRoutesOptions> = async (
  app,
  { store, campaigns, integrations, contacts, runs },
) => {
  /**
   * Checks the integration campaign settings of a create or edit: only an integration campaign
   * has them, they need the `integration` permission, and they may only name a list and an
   * integration the campaign's owner sees.
   */
  const checkRunSettings = async (
    request: FastifyRequest,
    type: CampaignType,
    ownerId: string,
    settings: RunSettings,
  ) => {
    const named = RUN_SETTINGS.filter((field) => settings[field] !== undefined);
    if (named.length === 0) return;
    if (type !== 'integration') {
      throw new AppError(
        'VALIDATION_FAILED',
        `Only an integration campaign has ${named.join(', ')}`,
        named.map((field) => ({
          field: `body.${field}`,
          message: `is for integration campaigns; this one is ${type}`,
        })),
      );
    }
    const principal = principalOf(request);
    if (!holds(principal, 'integration')) {
      throw new AppError(
        'FORBIDDEN',
        `Setting an integration campaign's ${named.join(', ')} needs the "integration" permission`,
        { permission: 'integration' },
      );
    }
    const problems: ErrorDetail[] = [];
    const owner = ownerScope(request) ?? ownerId;
    if (
      typeof settings.contactListId === 'string' &&
      (await contacts.findList(settings.contactListId, owner)) === undefined
    ) {
      problems.push({
        field: 'body.contactListId',
        message: `no contact list ${settings.contactListId}`,
      });
    }
    if (
      typeof settings.integrationId === 'string' &&
      (await integrations.find(settings.integrationId, owner)) === undefined
    ) {
      problems.push({
        field: 'body.integrationId',
        message: `no integration ${settings.integrationId}`,
      });
    }
    if (problems.length > 0)
      throw new AppError('VALIDATION_FAILED', 'The campaign settings are not valid', problems);
  };
  /** An integration campaign's view with its progress; any other as it is. */
  const viewOf = async (row: CampaignRow) => {
    const campaign = toCampaign(row);
    return campaignView(
      campaign,
      campaign.type === 'integration' ? await runs.progress(row) : undefined,
    );
  };
  /** `viewOf` campaign `id` as `owner` sees it (undefined: whoever owns it); 404 otherwise. */
  const fullView = async (id: string, owner: string | undefined) => {
    const row = await runs.find(id, owner);
    if (row === undefined) throw new AppError('NOT_FOUND', `No campaign ${id}`);
    return viewOf(row);
  };

  const bindingsOf = async (campaignId: string) => ({
    bindings: (await campaigns.bindings(campaignId)).map((binding) => ({ campaignId, ...binding })),
  });
  const mustFind = async (id: string, owner: string | undefined) => {
    const campaign = await campaigns.find(id, owner);
    if (campaign === undefined) throw new AppError('NOT_FOUND', `No campaign ${id}`);
    return campaign;
  };

  app.get(
    '/api/v1/campaigns',
    {
      config: access,
      schema: { tags, querystring: PageQuery, response: { 200: pageOf(CampaignOut) } },
    },
    async (request) => {
      const { cursor, limit } = request.query;
      const page = await campaigns.list(ownerScope(request), { cursor: idCursor(cursor), limit });
      // One statement for the page's integration campaigns, not one per campaign.
      const progress = await runs.progressOfRuns(
        page.items.filter((row) => row.type === 'integration'),
      );
      return withIdCursor({
        items: page.items.map((row) => campaignView(toCampaign(row), progress.get(row.id))),
        nextCursor: page.nextCursor,
      });
    },
  );

  app.post(
    '/api/v1/campaigns',
    {
      config: access,
      schema: {
        tags,
        summary: "Mirror a dialer campaign; `id` may carry the dialer's own campaign id",
        body: Type.Object(
          {
            // Not `.` or `..`: URLs drop such a path segment, so the campaign could not be read,
            // changed or deleted.
            id: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 100,
                pattern: '^(?!\\.\\.?$)[A-Za-z0-9._:-]+$',
              }),
            ),
            name: DisplayName(200),
            type: CampaignOut.properties.type,
            ...RunSettingsBody,
          },
          { additionalProperties: false },
        ),
        response: { 201: CampaignOut },
      },
    },
    async (request, reply) => {
      const ownerId = principalOf(request).user.id;
      await checkRunSettings(request, request.body.type, ownerId, request.body);
      try {
        const campaign = await unique(store, () => campaigns.create(ownerId, request.body));
        return reply.code(201).send(await fullView(campaign.id, undefined));
      } catch (error) {
        if (error instanceof UniqueConflict) {
          throw new AppError('CONFLICT', `A campaign with id ${request.body.id} exists`, [
            { field: 'body.id', message: 'is taken' },
          ]);
        }
        throw error;
      }
    },
  );

  app.get(
    '/api/v1/campaigns/:id',
    { config: access, schema: { tags, params: IdParams, response: { 200: CampaignOut } } },
    async (request) => {
      return fullView(request.params.id, ownerScope(request));
    },
  );

  app.patch(
    '/api/v1/campaigns/:id',
    {
      config: access,
      schema: {
        tags,
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(DisplayName(200)),
            ...RunSettingsPatch,
          },
          { additionalProperties: false },
        ),
        response: { 200: CampaignOut },
      },
    },
    async (request) => {
      const { id } = request.params;
      const campaign = await mustFind(id, ownerScope(request));
      await checkRunSettings(request, campaign.type, campaign.ownerId, request.body);
      return viewOf(runAnswerRow(await runs.configure(id, ownerScope(request), request.body), id));
    },
  );

  app.delete(
    '/api/v1/campaigns/:id',
    { config: access, schema: { tags, params: IdParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      const { id } = request.params;
      const deleted = await campaigns.delete(id, ownerScope(request));
      if (deleted === 'not-found') throw new AppError('NOT_FOUND', `No campaign ${id}`);
      if (deleted !== 'deleted') {
        throw new AppError(
          'CONFLICT',
          `Campaign ${id} is ${deleted.state}: stop it before deleting it`,
          { state: deleted.state },
        );
      }
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/campaigns/:id/bindings',
    { config: access, schema: { tags, params: IdParams, response: { 200: BindingsOut } } },
    async (request) => {
      const campaign = await mustFind(request.params.id, ownerScope(request));
      return bindingsOf(campaign.id);
    },
  );

  app.put(
    '/api/v1/campaigns/:id/bindings',
    {
      config: access,
      schema: {
        tags,
        summary: "Replace the campaign's bindings: which integrations run on which call events",
        params: IdParams,
        body: Bindings,
        response: { 200: BindingsOut },
      },
    },
    async (request) => {
      const owner = ownerScope(request);
      const campaign = await mustFind(request.params.id, owner);
      // A binding may only name integrations the campaign's owner can see.
      const problems: ErrorDetail[] = [];
      for (const [index, binding] of request.body.bindings.entries()) {
        if (binding.campaignId !== undefined && binding.campaignId !== campaign.id) {
          problems.push({
            field: `body.bindings.${index}.campaignId`,
            message: `is ${binding.campaignId}, but these are the bindings of campaign ${campaign.id}`,
          });
        }
        const integration = await integrations.find(
          binding.integrationId,
          owner ?? campaign.ownerId,
        );
        if (integration === undefined) {
          problems.push({
            field: `body.bindings.${index}.integrationId`,
            message: `no integration ${binding.integrationId}`,
          });
        }
      }
      if (problems.length > 0)
        throw new AppError('VALIDATION_FAILED', 'The bindings are not valid', problems);
      await campaigns.replaceBindings(campaign.id, request.body.bindings);
      return bindingsOf(campaign.id);
    },
  );
};
