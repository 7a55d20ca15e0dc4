/**
 * `POST /api/v1/integrations/:id/invoke` (SPEC §5): an IVR step runs an integration while the
 * caller waits and branches on the answer. One run within the deadline (a second try only after
 * a connect failure, and only if the deadline leaves room), the response mapped into string
 * variables, the invocation logged as a delivery of kind `ivr`. Always `200` once the
 * integration is found: what went wrong is the `outcome`, since the IVR must go on either way.
 * With the answer cache on, identical invocations share a cached answer, or the one request in
 * flight for it (ivr-shared-runs.ts). docs/ivr.md is the user's side of this.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { AppError, type ErrorDetail } from '../errors.js';
import { ownerScope } from '../auth/authorize.js';
import type { Integration } from '../domain/integration.js';
import { newId } from '../domain/ids.js';
import { idProblem } from '../domain/call-event.js';
import type { IntegrationStore } from '../store/integration-store.js';
import type { IvrInvocationRecord, IvrLogStore, IvrOutcome } from '../store/ivr-log-store.js';
import type { IntegrationRunner, RunResult } from '../delivery/integration-runner.js';
import { retryPolicyOf } from '../delivery/retry-policy.js';
import {
  deadlineReasonOf,
  invokeDeadline,
  ivrOutcomeOf,
  MAX_IVR_TIMEOUT_MS,
  retriesAfter,
} from '../delivery/ivr-outcome.js';
import {
  compileVariables,
  mapVariables,
  type CompiledVariable,
} from '../delivery/response-variables.js';
import type { IvrAnswerCache } from '../delivery/ivr-answer-cache.js';
import { SharedRuns } from '../delivery/ivr-shared-runs.js';
import { ShortCache } from '../delivery/short-cache.js';
import type { Metrics } from '../metrics.js';
import { callWithCampaign, systemValues, type RenderScope } from '../template/scope.js';
import { IdParams } from './schemas.js';
import { refuseDeepBody } from './json-depth.js';

const Group = Type.Optional(Type.Record(Type.String(), Type.Unknown()));

/** The longest IVR variable name. */
export const MAX_IVR_VARIABLE_NAME = 100;

/**
 * An IVR variable's value: one `type` list, not a union: a value of another type is one detail,
 * and a value of a listed type is kept as sent. (When request bodies were coerced, a union's first
 * branch took 42 as "42" and null as "".)
 */
const IvrValue = Type.Unsafe<string | number | boolean | null>({
  type: ['string', 'number', 'boolean', 'null'],
});

export const InvokeBody = Type.Object(
  {
    call: Group,
    contact: Group,
    campaign: Group,
    variables: Type.Optional(
      Type.Record(Type.String(), IvrValue, {
        // A Record drops its key schema's limits; propertyNames is what ajv enforces on keys.
        propertyNames: { maxLength: MAX_IVR_VARIABLE_NAME },
        description: `IVR variables collected so far; templates read them as {{ivr.<name>}}. Names: at most ${MAX_IVR_VARIABLE_NAME} characters`,
      }),
    ),
    timeoutMs: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: MAX_IVR_TIMEOUT_MS,
        description: "The whole invocation's deadline; default: the integration's, at most 3000",
      }),
    ),
  },
  { additionalProperties: false },
);
export type InvokeBody = Static<typeof InvokeBody>;

export const InvokeAnswer = Type.Object({
  outcome: Type.Union([
    Type.Literal('success'),
    Type.Literal('failure'),
    Type.Literal('timeout'),
    Type.Literal('error'),
  ]),
  /** The remote's HTTP status; null when it did not answer. */
  status: Type.Union([Type.Integer(), Type.Null()]),
  variables: Type.Record(Type.String(), Type.String()),
  durationMs: Type.Number(),
  reason: Type.Optional(Type.String()),
  deliveryId: Type.String(),
  cached: Type.Optional(Type.Boolean()),
});
export type InvokeAnswer = Static<typeof InvokeAnswer>;

export interface IvrRoutesOptions {
  integrations: IntegrationStore;
  runner: IntegrationRunner;
  metrics: Metrics;
  log: IvrLogStore;
  /** The answer cache for integrations with `options.cacheTtlSeconds`; none: never cached. */
  cache?: IvrAnswerCache;
  /**
   * How long an integration read from the store serves further invocations (default 1000 ms,
   * 0: read every time). An edit, a disable or a delete applies to IVR invocations after it.
   */
  integrationCacheMs?: number;
}

/** A run's result as the IVR reads it. */
interface Settled {
  result: RunResult;
  outcome: IvrOutcome;
  reason: string | null;
  values: Record<string, string>;
  /** The invocation whose run it is. */
  deliveryId: string;
}

/** What a caller whose deadline passed while it waited for a shared run logs of that run. */
type LateRun = Pick<IvrInvocationRecord, 'request' | 'response' | 'afterDeadline' | 'cachedFrom'>;

/** An id as its log column keeps it: a string, or a number as templates render it (`5`). */
const loggedId = (id: unknown): string | null =>
  typeof id === 'string' ? id : typeof id === 'number' ? String(id) : null;

const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * `contact.id` and `campaign.id` are logged in columns of their own: one the database cannot
 * store (NUL on PostgreSQL) would lose the whole batch of log rows it is written with.
 */
function refuseUnstorableIds(body: InvokeBody): void {
  const details: ErrorDetail[] = [];
  for (const group of ['contact', 'campaign'] as const) {
    const id = body[group]?.['id'];
    const problem = typeof id === 'string' ? idProblem(id) : undefined;
    if (problem !== undefined) details.push({ field: `body.${group}.id`, message: problem });
  }
  if (details.length > 0) throw new AppError('VALIDATION_FAILED', 'Invalid body', details);
}

export const ivrRoutes: FastifyPluginAsyncTypebox<IvrRoutesOptions> = async (app, options) => {
  const { integrations, runner, metrics, log, cache } = options;
  // A busy IVR asks for the same few integrations many times a second; the store is asked once
  // per id and period. Ownership is checked on every request against the cached row.
  const cacheMs = options.integrationCacheMs ?? 1000;
  const rows = new ShortCache<Integration | undefined>(cacheMs, () => performance.now());
  // An edit or delete through this process applies to the next invocation, not a second later.
  integrations.onChange((id) => rows.delete(id));
  const findIntegration = (id: string): Promise<Integration | undefined> =>
    rows.get(id, () => integrations.find(id, undefined));
  // Response variable paths, split once per integration row read (the row is reused as above).
  const plans = new WeakMap<Integration, CompiledVariable[]>();
  const planOf = (integration: Integration): CompiledVariable[] => {
    let plan = plans.get(integration);
    if (plan === undefined) {
      plan = compileVariables(integration.options.responseVariables ?? []);
      plans.set(integration, plan);
    }
    return plan;
  };
  // Identical cache misses in flight share one request; log lines wait for its end.
  const runs = new SharedRuns<Settled>({ maxMs: MAX_IVR_TIMEOUT_MS });
  const pendingLogs = new Set<Promise<void>>();
  // Child hooks run first: the log lines are handed over before the log closes.
  app.addHook('onClose', async () => {
    await Promise.all(pendingLogs);
  });

  app.post(
    '/api/v1/integrations/:id/invoke',
    {
      config: { access: 'integration' },
      // Each invocation is logged as a delivery (IvrLogStore); Fastify's two `info` lines per
      // request (received, completed) would repeat that on stdout hundreds of times a second.
      // Warnings and errors are still logged, with the request id.
      logLevel: 'warn',
      // Every field is optional, so no body at all (an IVR step with nothing to pass) is `{}`.
      // Groups nested too deep to render are refused.
      preValidation: [
        async (request) => {
          request.body ??= {};
        },
        refuseDeepBody,
      ],
      schema: {
        tags: ['integrations'],
        summary: 'Run the integration now, for an IVR waiting on the answer (SPEC §5)',
        params: IdParams,
        body: InvokeBody,
        response: { 200: InvokeAnswer },
      },
    },
    async (request): Promise<InvokeAnswer> => {
      const started = performance.now();
      const startedAt = Date.now();
      refuseUnstorableIds(request.body);
      const owner = ownerScope(request);
      const found = await findIntegration(request.params.id);
      const integration = owner === undefined || found?.ownerId === owner ? found : undefined;
      if (integration === undefined)
        throw new AppError('NOT_FOUND', `No integration ${request.params.id}`);
      const body = request.body;
      const deadline = invokeDeadline(integration, body.timeoutMs);
      const deliveryId = newId();
      const campaign = body.campaign ?? {};
      const contact = body.contact ?? {};
      const system = systemValues(startedAt);
      const scope: RenderScope = {
        // `{{call.campaignId}}` reads the campaign sent with the invocation, as for an event.
        call: callWithCampaign(body.call ?? {}, campaign['id']),
        contact,
        campaign,
        event: { id: deliveryId, type: 'call.ivr_input', occurredAt: system.now },
        integration: { id: integration.id, name: integration.name },
        ivr: body.variables ?? {},
        system,
      };
      const plan = planOf(integration);

      const finish = (
        outcome: IvrOutcome,
        reason: string | null,
        result: Pick<RunResult, 'request' | 'response' | 'answerBody' | 'version'>,
        variables: Record<string, string>,
        extra: { cachedFrom?: string; late?: Promise<LateRun> } = {},
      ): InvokeAnswer => {
        const durationMs = round(performance.now() - started);
        const status = result.response?.status ?? null;
        metrics.ivrInvocations.inc({ outcome });
        const record = {
          id: deliveryId,
          ownerId: integration.ownerId,
          integrationId: integration.id,
          integrationVersion: result.version,
          campaignId: loggedId(campaign['id']),
          contactId: loggedId(contact['id']),
          startedAt,
          durationMs,
          outcome,
          status,
          reason,
          request: result.request,
          response: result.response,
          ...(extra.cachedFrom === undefined ? {} : { cachedFrom: extra.cachedFrom }),
        };
        if (extra.late === undefined) log.append(record);
        else {
          // What the shared run sent and received is known when it ends; the answer does not wait.
          const logged = extra.late
            .then((late) => log.append({ ...record, ...late }))
            .catch((err: unknown) => request.log.error({ err }, 'IVR invocation not logged'));
          pendingLogs.add(logged);
          void logged.finally(() => pendingLogs.delete(logged));
        }
        return {
          outcome,
          status,
          // `status` and `body` are always there, and always the response's own.
          variables: {
            ...variables,
            status: status === null ? '' : String(status),
            body: result.answerBody ?? result.response?.body ?? '',
          },
          durationMs,
          ...(reason === null ? {} : { reason }),
          deliveryId,
          ...(extra.cachedFrom === undefined ? {} : { cached: true }),
        };
      };
      const defaults = () => Object.fromEntries(plan.map((v) => [v.name, v.default]));

      if (!integration.enabled) {
        const why = integration.disabledReason === null ? '' : ` (${integration.disabledReason})`;
        return finish(
          'error',
          `the integration is disabled${why}`,
          { request: null, response: null, version: integration.version },
          defaults(),
        );
      }

      // What a run came to for the IVR; a success whose variables all read is kept in the cache.
      const policy = retryPolicyOf(integration.options);
      const ttl = integration.options.cacheTtlSeconds;
      const cacheKey =
        cache !== undefined && ttl !== undefined ? cache.keyOf(integration, scope) : undefined;
      const settle = (result: RunResult): Settled => {
        const { outcome, reason } = ivrOutcomeOf(result.outcome, policy);
        const mapped =
          result.response === null && result.soapResult === undefined
            ? { values: defaults() }
            : mapVariables(plan, {
                encoding:
                  integration.type === 'soap' ? 'soap' : integration.config.responseEncoding,
                body: result.answerBody ?? result.response?.body ?? null,
                truncated: result.response?.truncated ?? false,
                bodyError: result.response?.bodyError,
                soapResult: result.soapResult,
              });
        if (outcome === 'success' && mapped.problem === undefined && cacheKey !== undefined) {
          cache!.set(
            cacheKey,
            {
              status: result.response?.status ?? 200,
              variables: mapped.values,
              deliveryId,
              request: result.request,
              response: result.response,
              ...(result.answerBody === undefined ? {} : { answerBody: result.answerBody }),
            },
            ttl!,
          );
        }
        const said = reason ?? mapped.problem ?? null;
        return { result, outcome, reason: said, values: mapped.values, deliveryId };
      };

      // The deadline counts from the handler's start: what came before the run (reading the
      // integration from the store, a first run that could not connect) is spent from it; a
      // timeout's reason names the deadline asked for.
      const left = () => deadline - (performance.now() - started);
      const runHere = (timeoutMs: number) =>
        runner.run(integration, scope, {
          timeoutMs,
          statedTimeoutMs: deadline,
          deliveryId,
          now: startedAt,
        });

      if (cacheKey !== undefined) {
        const hit = cache!.get(cacheKey);
        if (hit !== undefined) {
          return finish(
            'success',
            null,
            {
              request: hit.request,
              response: hit.response,
              ...(hit.answerBody === undefined ? {} : { answerBody: hit.answerBody }),
              version: integration.version,
            },
            { ...hit.variables },
            { cachedFrom: hit.deliveryId },
          );
        }
        // A miss: identical invocations in flight share one request (ivr-shared-runs.ts), run
        // under no caller's deadline; each caller waits for it until its own. What it comes to,
        // a failure too, is the answer of every caller waiting: a failing remote is asked once
        // for all of them. The second try after a connect failure is shared the same way.
        const timedOut = deadlineReasonOf(integration.type, deadline);
        for (let tries = 1; ; tries += 1) {
          const shared = await runs.wait(cacheKey, started + deadline, (maxMs, signal) =>
            runner
              .run(integration, scope, { timeoutMs: maxMs, deliveryId, now: startedAt, signal })
              .then(settle),
          );
          if (shared.kind === 'deadline') {
            // Logged when the shared run ends (it is cancelled once no caller waits for it, so
            // soon after the last deadline), with the request as sent and the answer it got after
            // this caller's deadline, if any: another caller may have used it, and names the
            // invocation whose request it was (cachedFrom), perhaps this one.
            const late = shared.settled.then(
              (value): LateRun => ({
                request: value.result.request,
                response: value.result.response,
                ...(value.result.response === null ? {} : { afterDeadline: true }),
                ...(shared.started ? {} : { cachedFrom: value.deliveryId }),
              }),
              (): LateRun => ({ request: null, response: null }),
            );
            const none = { request: null, response: null, version: integration.version };
            return finish('timeout', timedOut, none, defaults(), { late });
          }
          const { value } = shared;
          if (tries === 1 && retriesAfter(value.result.outcome, left())) continue;
          const from = shared.started ? {} : { cachedFrom: value.deliveryId };
          // The shared run's own limit (30 s) is not this caller's deadline.
          const reason = value.outcome === 'timeout' ? timedOut : value.reason;
          return finish(value.outcome, reason, value.result, { ...value.values }, from);
        }
      }

      let result = await runHere(Math.max(1, Math.round(left())));
      if (retriesAfter(result.outcome, left())) result = await runHere(Math.floor(left()));
      const own = settle(result);
      return finish(own.outcome, own.reason, own.result, own.values);
    },
  );
};
