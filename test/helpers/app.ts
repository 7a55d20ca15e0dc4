import { Writable } from 'node:stream';
import { afterEach } from 'vitest';
import { buildApp, type App, type AppDeps } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { Backend } from '../../src/store/db.js';
import { AccountStore } from '../../src/store/account-store.js';
import { hashPassword } from '../../src/auth/passwords.js';
import type { Permission } from '../../src/domain/permissions.js';
import { createTestStore, type TestStore } from './store.js';
import { createServices, type Services } from '../../src/services.js';

export interface TestApp {
  app: App;
  store: TestStore;
  config: Config;
  accounts: AccountStore;
  services: Services;
  /** Every log line written, when `captureLogs` was asked for. */
  logs: string[];
  /** Creates a user with an API key; returns the id and `Authorization` header. */
  user(options?: {
    admin?: boolean;
    grants?: Permission[];
    email?: string;
    password?: string;
  }): Promise<TestUser>;
  /**
   * Signs `user` in with their password: the session cookie and the console's `Origin`, for what
   * an API key may not do (make keys, change its own user's password).
   */
  signIn(user: { email: string; password: string }): Promise<SessionHeaders>;
  close(): Promise<void>;
}

/** A type, not an interface, so it passes where request headers go. */
export type SessionHeaders = { cookie: string; origin: string };

export interface TestUser {
  id: string;
  email: string;
  password: string;
  key: string;
  headers: { authorization: string };
}

let counter = 0;

/** `buildApp()` over a fresh store; exercise it with `app.inject()`. */
export async function createTestApp(
  backend: Backend,
  options: {
    env?: Record<string, string>;
    captureLogs?: boolean;
    deps?: Partial<AppDeps>;
    /** Called on the built app before `ready()`: a test's own hooks go here. */
    beforeReady?: (app: App) => void;
  } = {},
): Promise<TestApp> {
  const store = await createTestStore(backend);
  const logs: string[] = [];
  const config = loadConfig({
    CALLHOOK_DATA_DIR: store.location.startsWith('/') ? store.location : '/tmp',
    CALLHOOK_LOG_LEVEL: options.captureLogs ? 'trace' : 'silent',
    ...options.env,
  });
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger(config.logLevel, destination);
  const services = createServices(config, logger, store.store);
  const app = await buildApp({ config, store: store.store, logger, services, ...options.deps });
  options.beforeReady?.(app);
  await app.ready();
  const accounts = new AccountStore(store.store);
  return {
    app,
    store,
    config,
    accounts,
    logs,
    async user(opts = {}) {
      counter += 1;
      const email = opts.email ?? `user${counter}-${Date.now()}@example.com`;
      const password = opts.password ?? `pw-${counter}-secret-value`;
      const user = await accounts.createUser({
        email,
        name: email,
        admin: opts.admin ?? false,
        passwordHash: await hashPassword(password),
      });
      for (const grant of opts.grants ?? []) await accounts.grantUser(user.id, grant);
      const key = await accounts.credentials.createApiKey(user.id, 'test');
      return {
        id: user.id,
        email,
        password,
        key: key.key,
        headers: { authorization: `Bearer ${key.key}` },
      };
    },
    services,
    async signIn({ email, password }) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email, password },
      });
      const cookie = res.cookies.find((c) => c.name === 'callhook_session');
      if (res.statusCode !== 200 || cookie === undefined) {
        throw new Error(`sign-in of ${email} answered ${res.statusCode}: ${res.body}`);
      }
      return { cookie: `callhook_session=${cookie.value}`, origin: 'http://localhost:80' };
    },
    async close() {
      await app.close();
      await services.close();
      await store.destroy().catch(() => undefined);
    },
  };
}

/** A fresh app per test, with its first user, for one describe block. */
export interface AppPerTest {
  /** Builds this test's app over a fresh store, and `alice` on it; call it first in each test. */
  setup(): Promise<void>;
  /** This test's app (after `setup()`). */
  readonly t: TestApp;
  /** A user of this test's app with the grants asked for (after `setup()`). */
  readonly alice: TestUser;
}

/**
 * Registers the describe block's afterEach that closes the app its test built with `setup()`:
 * each test that calls it gets a fresh app on `backend` and a user `alice` with `grants`.
 */
export function useAppPerTest(backend: Backend, grants: Permission[]): AppPerTest {
  let t: TestApp | undefined;
  let alice: TestUser | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
    alice = undefined;
  });
  return {
    async setup() {
      t = await createTestApp(backend);
      alice = await t.user({ grants });
    },
    get t() {
      if (t === undefined) throw new Error('call setup() first');
      return t;
    },
    get alice() {
      if (alice === undefined) throw new Error('call setup() first');
      return alice;
    },
  };
}
