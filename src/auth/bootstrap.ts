import type { AccountStore } from '../store/account-store.js';
import { UniqueConflict } from '../store/db.js';
import { generatePassword } from './credentials.js';
import { hashPassword } from './passwords.js';

export const DEFAULT_ADMIN_EMAIL = 'admin@callhook.local';

export type BootstrapResult =
  { created: false } | { created: true; email: string; generatedPassword: string | undefined };

/**
 * On a start that finds no user, creates the first admin from CALLHOOK_ADMIN_EMAIL /
 * CALLHOOK_ADMIN_PASSWORD, or with a generated password that the caller prints once (never logs).
 */
export async function ensureFirstAdmin(
  accounts: AccountStore,
  settings: { adminEmail: string | undefined; adminPassword: string | undefined },
): Promise<BootstrapResult> {
  if ((await accounts.countUsers()) > 0) return { created: false };
  const email = settings.adminEmail ?? DEFAULT_ADMIN_EMAIL;
  const generatedPassword = settings.adminPassword === undefined ? generatePassword() : undefined;
  const password = settings.adminPassword ?? generatedPassword!;
  try {
    await accounts.createUser({
      email,
      name: 'Administrator',
      admin: true,
      passwordHash: await hashPassword(password),
    });
  } catch (error) {
    // Another process created it first.
    if (error instanceof UniqueConflict) return { created: false };
    throw error;
  }
  return { created: true, email, generatedPassword };
}
