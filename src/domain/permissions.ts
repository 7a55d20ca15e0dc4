/** Module grants (SPEC §7). A user's effective permissions = direct grants ∪ their roles' grants. */
export const PERMISSIONS = [
  'integration',
  'campaign',
  'contact',
  'event_ingest',
  'user_admin',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/**
 * What a route needs: a permission, `authenticated` (any signed-in user, e.g. `me`), or
 * `public` (health checks, sign-in). Every route declares one; see auth/authorize.ts.
 */
export type RouteAccess = Permission | 'authenticated' | 'public';
