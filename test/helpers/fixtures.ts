/** Rows tests need as a starting point, written straight to a store. */
import type { Store } from '../../src/store/db.js';
import { AccountStore } from '../../src/store/account-store.js';
import { IntegrationStore } from '../../src/store/integration-store.js';
import type { Integration } from '../../src/domain/integration.js';
import type { User } from '../../src/domain/accounts.js';

/** A plain HTTP integration owned by `ownerId`. */
export function createHttpIntegration(store: Store, ownerId: string): Promise<Integration> {
  return new IntegrationStore(store).create(ownerId, {
    name: 'i',
    description: '',
    type: 'http',
    enabled: true,
    config: {
      url: 'https://x.example',
      method: 'POST',
      body: '',
      headers: '',
      responseEncoding: 'json',
      maxRedirects: 0,
    },
    options: { timeoutMs: 1000, retry: { maxAttempts: 3 }, responseVariables: [] },
  });
}

/** A user (no password) and an HTTP integration of theirs. */
export async function createUserWithIntegration(
  store: Store,
  options: { admin?: boolean } = {},
): Promise<{ user: User; integration: Integration }> {
  const user = await new AccountStore(store).createUser({
    email: `u${Math.random()}@example.com`,
    name: 'U',
    passwordHash: null,
    admin: options.admin ?? false,
  });
  return { user, integration: await createHttpIntegration(store, user.id) };
}
