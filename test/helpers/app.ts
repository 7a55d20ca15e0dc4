import { buildApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { Backend } from '../../src/store/db.js';
import { createTestStore, type TestStore } from './store.js';

export interface TestApp {
  app: App;
  store: TestStore;
  config: Config;
  close(): Promise<void>;
}

/** `buildApp()` over a fresh store; exercise it with `app.inject()`. */
export async function createTestApp(
  backend: Backend,
  env: Record<string, string> = {},
): Promise<TestApp> {
  const store = await createTestStore(backend);
  const config = loadConfig({
    CALLHOOK_DATA_DIR: store.location,
    CALLHOOK_LOG_LEVEL: 'silent',
    ...env,
  });
  const app = await buildApp({ config, store: store.store, logger: createLogger(config.logLevel) });
  await app.ready();
  return {
    app,
    store,
    config,
    async close() {
      await app.close();
      await store.destroy().catch(() => undefined);
    },
  };
}
