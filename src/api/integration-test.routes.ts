/**
 * `POST /api/v1/integrations/:id/test`: render the integration with sample data (the token
 * catalog's examples, overridden by `sample`) and show the exact request; with `send: true`, also
 * send it through the same transport and network policy and show the answer.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ownerScope } from '../auth/authorize.js';
import type { IntegrationStore } from '../store/integration-store.js';
import type { IntegrationRunner, RunResult } from '../delivery/integration-runner.js';
import { decide, retryPolicyOf } from '../delivery/retry-policy.js';
import { describeOutcome } from '../delivery/outcome.js';
import { TOKENS } from '../domain/tokens.js';
import { callWithCampaign, systemValues, type RenderScope } from '../template/scope.js';
import { IdParams } from './schemas.js';
import { mustFindIntegration } from './integrations.routes.js';
import { refuseDeepBody } from './json-depth.js';

const Group = Type.Optional(Type.Record(Type.String(), Type.Unknown()));
const HeaderList = Type.Array(Type.Tuple([Type.String(), Type.String()]));

export const RecordedRequestOut = Type.Object({
  method: Type.String(),
  url: Type.String(),
  headers: HeaderList,
  body: Type.Union([Type.String(), Type.Null()]),
});
export const RecordedResponseOut = Type.Object({
  status: Type.Integer(),
  headers: HeaderList,
  body: Type.String(),
  truncated: Type.Boolean(),
  bodyError: Type.Optional(
    Type.String({ description: 'why the body could not be decoded (its Content-Encoding)' }),
  ),
});

/** The catalog's examples as one sample event: every token has a value. */
export function sampleScope(): Record<string, Record<string, unknown>> {
  const scope: Record<string, Record<string, unknown>> = {};
  for (const token of TOKENS) {
    const path = token.token.split('.');
    const group = (scope[token.group] ??= {});
    if (token.wildcard) {
      // `contact.custom.<name>` and `ivr.<name>`: the example is an object of names.
      let target = group;
      for (const segment of path.slice(1, -1))
        target = (target[segment] ??= {}) as Record<string, unknown>;
      if (typeof token.example === 'object') Object.assign(target, token.example);
      continue;
    }
    let target = group;
    for (const segment of path.slice(1, -1))
      target = (target[segment] ??= {}) as Record<string, unknown>;
    target[path[path.length - 1]!] = token.example;
  }
  return scope;
}

function merge(
  base: Record<string, unknown> = {},
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] =
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      current !== null &&
      typeof current === 'object'
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

export const integrationTestRoutes: FastifyPluginAsyncTypebox<{
  integrations: IntegrationStore;
  runner: IntegrationRunner;
}> = async (app, { integrations, runner }) => {
  app.post(
    '/api/v1/integrations/:id/test',
    {
      config: { access: 'integration' },
      // Every field is optional, so no body at all renders the catalog's examples, not sent (as
      // an invocation without a body). A sample nested too deep to render is refused.
      preValidation: [
        async (request) => {
          request.body ??= { send: false };
        },
        refuseDeepBody,
      ],
      schema: {
        tags: ['integrations'],
        summary: 'Render with sample data and show the request; `send: true` also sends it',
        params: IdParams,
        body: Type.Object(
          {
            sample: Type.Optional(
              Type.Object(
                { call: Group, contact: Group, campaign: Group, event: Group, ivr: Group },
                { additionalProperties: false },
              ),
            ),
            send: Type.Boolean({ default: false }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            request: Type.Union([RecordedRequestOut, Type.Null()]),
            response: Type.Optional(RecordedResponseOut),
            outcome: Type.Optional(
              Type.Object({ kind: Type.String(), success: Type.Boolean(), message: Type.String() }),
            ),
            error: Type.Optional(Type.String()),
            durationMs: Type.Number(),
            version: Type.Integer(),
          }),
        },
      },
    },
    async (request) => {
      const integration = await mustFindIntegration(
        integrations,
        request.params.id,
        ownerScope(request),
      );
      const base = sampleScope();
      const sample = request.body.sample ?? {};
      const now = Date.now();
      const campaign = merge(base['campaign'], sample.campaign);
      // `call.campaignId` follows the sample's campaign, as a delivery's follows its event's.
      const { campaignId: _example, ...call } = base['call'] ?? {};
      const scope: RenderScope = {
        call: callWithCampaign(merge(call, sample.call), campaign['id']),
        contact: merge(base['contact'], sample.contact),
        campaign,
        event: merge(base['event'], sample.event),
        integration: { id: integration.id, name: integration.name },
        ivr: merge(base['ivr'], sample.ivr),
        system: systemValues(now),
      };
      const result: RunResult = request.body.send
        ? await runner.run(integration, scope, { now })
        : await runner.preview(integration, scope, { now });
      const answer = {
        request: result.request,
        durationMs: result.durationMs,
        version: result.version,
        ...(result.response === null ? {} : { response: result.response }),
      };
      if (result.outcome.kind === 'render-error' || result.outcome.kind === 'refused') {
        return { ...answer, error: describeOutcome(result.outcome) };
      }
      if (!request.body.send) return answer;
      const decision = decide(
        1,
        result.outcome,
        now,
        () => 0.5,
        retryPolicyOf(integration.options),
      );
      return {
        ...answer,
        outcome: {
          kind: result.outcome.kind,
          success: decision.kind === 'succeeded',
          message: describeOutcome(result.outcome),
        },
      };
    },
  );
};
