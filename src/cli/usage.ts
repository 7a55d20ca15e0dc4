/** What every `callhook` command shares: its usage error and its store. */
import { loadConfig } from '../config.js';
import { openStore, type Store } from '../store/db.js';
import { migrate } from '../store/migrator.js';

/** Thrown for a wrong use of a command: printed without a stack, exit code 2. */
export class UsageError extends Error {}

/** Opens the configured store, migrated, for `fn`, and closes it. */
export async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = await openStore(config.database);
  try {
    await migrate(store);
    return await fn(store);
  } finally {
    await store.close();
  }
}
