/**
 * `buildApp(deps)`: the Fastify instance with every route, never listening. `main.ts` listens;
 * tests call `inject()`.
 */
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import type { Store } from './store/db.js';
import type { Logger } from './logger.js';
import { AppError } from './errors.js';
import cookie from '@fastify/cookie';
import { healthRoutes } from './api/health.routes.js';
import { consoleRoutes } from './api/console.routes.js';
import { recordAllowedMethods } from './api/allowed-methods.js';
import {
  apiRouteNotFound,
  errorHandler,
  routerErrorHandler,
  validatorCompiler,
} from './api/validation-and-errors.js';
import { openapiOptions } from './api/openapi.js';
import { installJsonBodyParser, refuseBodiesWhereNoneIsTaken } from './api/json-body.js';
import { authRoutes } from './api/auth.routes.js';
import { usersRoutes } from './api/users.routes.js';
import { rolesRoutes } from './api/roles.routes.js';
import { apiKeysRoutes } from './api/api-keys.routes.js';
import { installAuthorization } from './auth/authorize.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { AccountStore } from './store/account-store.js';
import { campaignsRoutes } from './api/campaigns.routes.js';
import { CampaignStore } from './store/campaign-store.js';
import { IntegrationStore } from './store/integration-store.js';
import { integrationsRoutes } from './api/integrations.routes.js';
import { integrationTestRoutes } from './api/integration-test.routes.js';
import { createIntegrationChecker } from './api/integration-check.js';
import { tokensRoutes } from './api/tokens.routes.js';
import { soapRoutes } from './api/soap.routes.js';
import type { Services } from './services.js';
import { ivrRoutes } from './api/ivr.routes.js';
import { IvrLogStore } from './store/ivr-log-store.js';
import { IvrAnswerCache } from './delivery/ivr-answer-cache.js';
import { DeliveryQueue } from './queue/delivery-queue.js';
import { EventStore } from './store/event-store.js';
import { eventsRoutes } from './api/events.routes.js';
import { deliveriesRoutes } from './api/deliveries.routes.js';
import { replayRoutes } from './api/replay.routes.js';
import { ReplayJobStore } from './store/replay-job-store.js';
import { DeliveryReadStore } from './store/delivery-read-store.js';
import { ContactStore } from './store/contact-store.js';
import { CampaignRunStore } from './store/campaign-run-store.js';
import { campaignRunsRoutes } from './api/campaign-runs.routes.js';
import { contactListsRoutes } from './api/contact-lists.routes.js';
import { activityRoutes } from './api/activity.routes.js';

export interface AppDeps {
  config: Config;
  store: Store;
  logger: Logger;
  /** Injected in tests to drive sign-in throttling with a fake clock. */
  loginThrottle?: LoginThrottle;
  /** Shared with the workers of the same process (see services.ts). */
  services: Services;
  /** Stores deliveries (events ingest); one is made over `store` when absent. */
  queue?: DeliveryQueue;
  /** The IVR answer cache's clock (tests drive TTLs with it). */
  ivrCacheClock?: () => number;
  /** The API key cache's monotonic clock (tests cross its 1 s window with it). */
  authClock?: () => number;
  /** Called after events produced deliveries: wakes this process's worker at once. */
  onEnqueued?: () => void;
  /** How long a client may take to send one request, headers and body (tests shorten it). */
  requestTimeoutMs?: number;
  /** Called after a replay job was stored: wakes this process's replay runner at once. */
  onReplayAsked?: () => void;
  /** Called after an integration campaign started or resumed: wakes this process's campaign runner. */
  onCampaignRun?: () => void;
}

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * How long a client may take to send one whole request, headers and body, before the connection
 * is answered `408` and closed. Fastify's default (0) lets a body that trickles in a byte at a
 * time, or stops after the headers, hold its connection and buffer forever (slowloris). Time spent
 * answering does not count: a test send or an IVR invocation may take longer.
 */
export const REQUEST_TIMEOUT_MS = 120_000;

/**
 * Fastify options that bound how long a request may take to arrive: `requestTimeout`, and Node's
 * check of it, every 30 s or as often as a shorter timeout needs. The headers' own limit (Node's
 * 60 s) may not exceed it: Node then never applies `requestTimeout`.
 */
export function requestTimeoutOptions(requestTimeoutMs = REQUEST_TIMEOUT_MS): {
  requestTimeout: number;
  http: { connectionsCheckingInterval: number; headersTimeout: number };
} {
  return {
    requestTimeout: requestTimeoutMs,
    http: {
      connectionsCheckingInterval: Math.min(30_000, requestTimeoutMs),
      headersTimeout: Math.min(60_000, requestTimeoutMs),
    },
  };
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: DEFAULT_BODY_LIMIT,
    ...requestTimeoutOptions(deps.requestTimeoutMs),
    genReqId: () => randomUUID(),
    // `true` believes the one proxy in front (its X-Forwarded-For entry is the last one), never
    // the entries a client wrote before it: trusting every hop let a client pick its own address.
    trustProxy:
      deps.config.trustProxy === true
        ? (_address: string, hop: number) => hop === 0
        : deps.config.trustProxy,
    // Errors the router raises before any route or hook runs (a URL that does not decode, a path
    // segment over its length cap) get the API's error body too, not Fastify's own shape.
    frameworkErrors: routerErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler());

  // The API speaks JSON (docs/errors.md; a contact import also takes CSV, in its own plugin):
  // without Fastify's default text/plain parser, a text body is answered 415 like any other media
  // type, not parsed into a string that a route without a body schema would take.
  app.removeContentTypeParser('text/plain');
  installJsonBodyParser(app);
  refuseBodiesWhereNoneIsTaken(app);
  app.setErrorHandler(errorHandler((error) => deps.store.isTransient(error)));
  // Recorded from here on, so every route registered below is: the not-found handler tells a
  // wrong method on an API path (405, with Allow) from an unknown path (404).
  app.setNotFoundHandler(apiRouteNotFound(recordAllowedMethods(app)));

  closeBusyConnectionsOnStop(app);

  // PostgreSQL keeps no NUL in text: an id, cursor or filter holding `%00` would fail its query
  // (a 500); it is refused here, for every route, before anything reads it. A callback hook: no
  // promise per request.
  app.addHook('onRequest', (request, _reply, done) => {
    if (!request.url.includes('%00')) return done();
    done(
      new AppError('VALIDATION_FAILED', 'The URL holds a NUL character', [
        { field: 'url', message: 'holds %00, which no id or filter can contain' },
      ]),
    );
  });

  await app.register(swagger, openapiOptions);

  await app.register(cookie);
  const accounts = new AccountStore(deps.store);
  installAuthorization(
    app,
    accounts,
    deps.authClock === undefined ? {} : { clock: deps.authClock },
  );

  await app.register(healthRoutes, { store: deps.store, metrics: deps.services.metrics });
  await app.register(consoleRoutes);
  app.get('/api/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
  await app.register(authRoutes, { accounts, throttle: deps.loginThrottle ?? new LoginThrottle() });
  await app.register(usersRoutes, { accounts });
  await app.register(rolesRoutes, { accounts });
  await app.register(apiKeysRoutes, { accounts });

  const { services } = deps;
  const integrations = new IntegrationStore(deps.store);
  await app.register(tokensRoutes);
  await app.register(soapRoutes, { soap: services.soap });
  await app.register(integrationsRoutes, {
    integrations,
    sealer: services.secretBox,
    check: createIntegrationChecker(services.soap, services.templates),
  });
  await app.register(integrationTestRoutes, { integrations, runner: services.runner });
  const ivrLog = new IvrLogStore(deps.store, {
    onError: (err, lost) => deps.logger.error({ err, lost }, 'IVR invocation log lines not stored'),
  });
  // The last IVR log lines are stored, and the SQLite log thread stopped, before the store closes.
  app.addHook('onClose', async () => ivrLog.close());
  await app.register(ivrRoutes, {
    integrations,
    runner: services.ivrRunner,
    metrics: services.metrics,
    log: ivrLog,
    cache: new IvrAnswerCache({
      sealer: services.secretBox,
      templates: services.templates,
      ...(deps.ivrCacheClock === undefined ? {} : { clock: deps.ivrCacheClock }),
    }),
  });
  const campaigns = new CampaignStore(deps.store.db);
  const queue = deps.queue ?? new DeliveryQueue(deps.store);
  const events = new EventStore(deps.store.db, queue.enqueue);
  await app.register(deliveriesRoutes, {
    deliveries: new DeliveryReadStore(deps.store.db),
    queue,
    ...(deps.onEnqueued ? { onEnqueued: deps.onEnqueued } : {}),
  });
  await app.register(replayRoutes, {
    jobs: new ReplayJobStore(deps.store.db),
    integrations,
    ...(deps.onReplayAsked ? { onReplayAsked: deps.onReplayAsked } : {}),
  });
  await app.register(eventsRoutes, {
    events,
    metrics: services.metrics,
    activity: services.activity,
    ...(deps.onEnqueued ? { onEnqueued: deps.onEnqueued } : {}),
  });
  const contacts = new ContactStore(deps.store);
  const runs = new CampaignRunStore(deps.store);
  await app.register(campaignsRoutes, {
    store: deps.store,
    campaigns,
    integrations,
    contacts,
    runs,
  });
  await app.register(campaignRunsRoutes, {
    runs,
    ...(deps.onCampaignRun ? { onCampaignRun: deps.onCampaignRun } : {}),
  });
  await app.register(contactListsRoutes, { contacts });
  await app.register(activityRoutes, { db: deps.store.db });
  return app;
}

/**
 * The server closes idle keep-alive connections when it stops, but one busy then (a request still
 * running) would stay open, idle, for the keep-alive timeout (72 s) and hold the stop that long.
 * Node reads the timeout as each answer ends: from the stop on, such a connection closes right
 * after its answer. Nothing is added to a request's path.
 */
export function closeBusyConnectionsOnStop(app: FastifyInstance): void {
  app.addHook('preClose', (done) => {
    app.server.keepAliveTimeout = 1;
    done();
  });
}
