/**
 * The real app (`buildApp`) with the IVR invoke route, over a fresh store: the route is
 * registered here when src/app.ts does not register it yet. Integrations are created through the
 * API (so secrets are sealed as in production); invocations are read back from the store.
 */
import type { RequestListener } from 'node:http';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { Backend } from '../../src/store/db.js';
import { AccountStore } from '../../src/store/account-store.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { createServices, type Services } from '../../src/services.js';
import { HttpClient } from '../../src/transport/http-client.js';
import { IntegrationRunner } from '../../src/delivery/integration-runner.js';
import type { Resolver } from '../../src/transport/shared-lookup.js';
import type { InvokeAnswer } from '../../src/api/ivr.routes.js';
import { createTestStore, type TestStore } from '../helpers/store.js';
import { startServer, type TestServer } from '../transport/servers.js';

/** A user made by {@link IvrTestApp.user}: its id and `Authorization` header. */
export interface IvrUser {
  id: string;
  headers: { authorization: string };
}

export interface IvrTestApp {
  app: App;
  store: TestStore;
  services: Services;
  /** A user with the integration permission: `Authorization` header and id. */
  user(): Promise<IvrUser>;
  /** Creates an integration through the API; answers its id. */
  create(
    headers: { authorization: string },
    definition: { type?: 'http' | 'soap'; config: object; options?: object; enabled?: boolean },
  ): Promise<string>;
  invoke(
    headers: { authorization: string },
    id: string,
    payload?: object,
  ): Promise<{ statusCode: number; answer: InvokeAnswer; body: string }>;
  /** The delivery row and attempt rows of an invocation, once the log writer stored them. */
  logged(
    deliveryId: string,
  ): Promise<{ delivery: Record<string, unknown>; attempts: Record<string, unknown>[] }>;
  close(): Promise<void>;
}

let counter = 0;

export async function createIvrTestApp(
  backend: Backend,
  env: Record<string, string> = { CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' },
  options: {
    cacheClock?: () => number;
    /**
     * Resolves the host names of IVR invocations' HTTP requests, in place of the system's: it is
     * asked once per connection opened, so a test can count connection attempts that fail.
     */
    resolve?: Resolver;
  } = {},
): Promise<IvrTestApp> {
  const store = await createTestStore(backend);
  const config = loadConfig({
    CALLHOOK_DATA_DIR: store.location.startsWith('/') ? store.location : '/tmp',
    CALLHOOK_LOG_LEVEL: 'silent',
    ...env,
  });
  const logger = createLogger(
    config.logLevel,
    new Writable({ write: (_chunk, _encoding, done) => done() }),
  );
  const created = createServices(config, logger, store.store);
  const ivrHttp =
    options.resolve === undefined
      ? undefined
      : new HttpClient({ policy: created.policy, resolve: options.resolve });
  const services: Services =
    ivrHttp === undefined
      ? created
      : {
          ...created,
          ivrRunner: new IntegrationRunner({
            http: ivrHttp,
            soap: created.soap,
            sealer: created.secretBox,
            templates: created.templates,
          }),
        };
  const app = await buildApp({
    config,
    store: store.store,
    logger,
    services,
    ...(options.cacheClock === undefined ? {} : { ivrCacheClock: options.cacheClock }),
  });
  await app.ready();
  const accounts = new AccountStore(store.store);
  return {
    app,
    store,
    services,
    async user() {
      counter += 1;
      const email = `ivr${counter}-${Date.now()}@example.com`;
      const user = await accounts.createUser({
        email,
        name: email,
        admin: false,
        passwordHash: await hashPassword('a-long-password'),
      });
      await accounts.grantUser(user.id, 'integration');
      const key = await accounts.credentials.createApiKey(user.id, 'test');
      return { id: user.id, headers: { authorization: `Bearer ${key.key}` } };
    },
    async create(headers, definition) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/integrations',
        headers,
        payload: {
          name: `ivr-${counter}`,
          type: definition.type ?? 'http',
          config: definition.config,
          options: definition.options ?? {},
          enabled: definition.enabled ?? true,
        },
      });
      expect(res.statusCode, res.body).toBe(201);
      return res.json<{ id: string }>().id;
    },
    async invoke(headers, id, payload = {}) {
      const res = await app.inject({
        method: 'POST',
        url: `/api/v1/integrations/${id}/invoke`,
        headers,
        payload,
      });
      return { statusCode: res.statusCode, answer: res.json<InvokeAnswer>(), body: res.body };
    },
    async logged(deliveryId) {
      const db = store.store.db;
      // The log is written after the answer (on SQLite by a thread that starts with the first).
      for (let tries = 0; tries < 1000; tries += 1) {
        const delivery = await db
          .selectFrom('deliveries')
          .selectAll()
          .where('id', '=', deliveryId)
          .executeTakeFirst();
        if (delivery !== undefined) {
          const attempts = await db
            .selectFrom('attempts')
            .selectAll()
            .where('delivery_id', '=', deliveryId)
            .orderBy(sql.ref('attempt'))
            .execute();
          return { delivery, attempts };
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`invocation ${deliveryId} was not logged within 10 s`);
    },
    async close() {
      await app.close();
      await services.close();
      await ivrHttp?.close();
      await store.destroy().catch(() => undefined);
    },
  };
}

/** An IVR test app, its user and the remote its integrations call, for one describe block. */
export interface IvrAppWithServer {
  t: IvrTestApp;
  /** A user with the integration permission. */
  alice: IvrUser;
  server: TestServer;
}

/**
 * Registers the describe block's beforeAll and afterAll: an IVR test app on `backend` with a user
 * `alice`, and a local server answering with `handler`; both closed after the block. The fields
 * are there once the beforeAll has run: read them in tests and later hooks.
 */
export function useIvrAppWithServer(backend: Backend, handler: RequestListener): IvrAppWithServer {
  let t: IvrTestApp | undefined;
  let alice: IvrUser | undefined;
  let server: TestServer | undefined;
  beforeAll(async () => {
    t = await createIvrTestApp(backend);
    alice = await t.user();
    server = await startServer(handler);
  });
  afterAll(async () => {
    await t?.close();
    await server?.close();
  });
  const ready = <T>(value: T | undefined, name: string): T => {
    if (value === undefined) throw new Error(`${name} is set up by beforeAll, read it in tests`);
    return value;
  };
  return {
    get t() {
      return ready(t, 't');
    },
    get alice() {
      return ready(alice, 'alice');
    },
    get server() {
      return ready(server, 'server');
    },
  };
}
