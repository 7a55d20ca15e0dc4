/** Set-up of the tests that start the service in this process (`startService`) on SQLite. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService, type Roles, type RunningService } from '../../src/main.js';
import { openStore, type Store } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrator.js';
import { AccountStore } from '../../src/store/account-store.js';

/**
 * A data folder and the service started on it, closed and removed by `release()` (call it in
 * `afterEach`).
 */
export function serviceHarness(tempPrefix: string) {
  let service: RunningService | undefined;
  let dir: string | undefined;
  return {
    /**
     * A config on a new SQLite data folder, migrated, with an admin user `ops@example.com`;
     * `seed` adds what the test needs before the service starts (the store is closed after it).
     */
    async seeded<T>(
      seed: (data: { store: Store; adminId: string; config: Config }) => Promise<T>,
    ): Promise<{ config: Config; seeded: T }> {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), tempPrefix));
      const config = loadConfig({ CALLHOOK_DATA_DIR: dir, CALLHOOK_PORT: '0' });
      const store = await openStore(config.database);
      try {
        await migrate(store);
        const admin = await new AccountStore(store).createUser({
          email: 'ops@example.com',
          name: 'Ops',
          passwordHash: null,
          admin: true,
        });
        return { config, seeded: await seed({ store, adminId: admin.id, config }) };
      } finally {
        await store.close();
      }
    },
    /** The service on `config`, silent; closed after the test unless closed before. */
    async start(config: Config, roles?: Roles): Promise<RunningService> {
      service = await startService(config, createLogger('silent'), undefined, roles);
      return service;
    },
    async release(): Promise<void> {
      await service?.close();
      service = undefined;
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  };
}
