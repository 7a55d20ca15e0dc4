import type { Permission } from './permissions.js';

export interface User {
  id: string;
  email: string;
  name: string;
  admin: boolean;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Role {
  id: string;
  name: string;
  description: string;
  permissions: Permission[];
  createdAt: string;
}

export interface ApiKey {
  id: string;
  /** The user the key signs in as. */
  userId: string;
  name: string;
  /** The first characters of the key, to recognise it; the key itself is shown once. */
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** Who is calling, resolved per request (so grants and revocations hold from the next request). */
export interface Principal {
  user: User;
  permissions: ReadonlySet<Permission>;
  via: 'session' | 'api-key';
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
