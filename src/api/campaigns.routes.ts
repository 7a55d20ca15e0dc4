/** Campaigns mirrored from the dialer (permission `campaign`) and their integration bindings. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError, type ErrorDetail } from '../errors.js';
import { ownerScope, principalOf } from '../auth/authorize.js';
import type { CampaignStore } from '../store/campaign-store.js';
import type { IntegrationStore } from '../store/integration-store.js';
import { UniqueConflict, unique, type Store } from '../store/db.js';
import { CALL_EVENT_TYPES, CALL_STATUSES, CAMPAIGN_TYPES } from '../domain/campaign.js';
import { IdParams, PageQuery, pageOf } from './schemas.js';

const access = { access: 'campaign' } as const;
const tags = ['campaigns'];

const CampaignOut = Type.Object({
  id: Type.String(),
  ownerId: Type.String(),
  name: Type.String(),
  // An enum, not a union of literals: a wrong type is one 400 detail, not four.
  type: Type.Enum(CAMPAIGN_TYPES),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

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
}

export const campaignsRoutes: FastifyPluginAsyncTypebox<CampaignRoutesOptions> = async (
  app,
  { store, campaigns, integrations },
) => {
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
    async (request) => campaigns.list(ownerScope(request), request.query),
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
            id: Type.Optional(
              Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._:-]+$' }),
            ),
            name: Type.String({ minLength: 1, maxLength: 200 }),
            type: CampaignOut.properties.type,
          },
          { additionalProperties: false },
        ),
        response: { 201: CampaignOut },
      },
    },
    async (request, reply) => {
      try {
        const campaign = await unique(store, () =>
          campaigns.create(principalOf(request).user.id, request.body),
        );
        return reply.code(201).send(campaign);
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
    async (request) => mustFind(request.params.id, ownerScope(request)),
  );

  app.patch(
    '/api/v1/campaigns/:id',
    {
      config: access,
      schema: {
        tags,
        params: IdParams,
        body: Type.Object(
          { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
          { additionalProperties: false },
        ),
        response: { 200: CampaignOut },
      },
    },
    async (request) => {
      await mustFind(request.params.id, ownerScope(request));
      await campaigns.update(request.params.id, request.body);
      return mustFind(request.params.id, undefined);
    },
  );

  app.delete(
    '/api/v1/campaigns/:id',
    { config: access, schema: { tags, params: IdParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      if (!(await campaigns.delete(request.params.id, ownerScope(request)))) {
        throw new AppError('NOT_FOUND', `No campaign ${request.params.id}`);
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
