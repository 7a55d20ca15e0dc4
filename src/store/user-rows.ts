/**
 * What the account and credential stores share: a user row as the domain sees it, and the
 * process-wide count of changes to who may do what.
 */
import type { Selectable } from 'kysely';
import type { UsersTable } from './schema.js';
import type { User } from '../domain/accounts.js';
import { isoTime } from '../domain/accounts.js';

export function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    admin: row.admin === 1,
    disabled: row.disabled === 1,
    createdAt: isoTime(row.created_at)!,
    updatedAt: isoTime(row.updated_at)!,
  };
}

let version = 0;

/**
 * Bumped by every change to who may do what (a user updated, a grant, a role, a revoked key), by
 * any AccountStore or CredentialStore of this process: caches of verified credentials (src/auth/api-key-cache.ts)
 * drop what they read before it.
 */
export function accountsVersion(): number {
  return version;
}

/** Marks a change to who may do what (see `accountsVersion`). */
export function noteAccountsChanged(): void {
  version += 1;
}
