/**
 * The one authorization hook. Every route declares `config: { access }` — a permission,
 * `authenticated` or `public` — and a route that declares none cannot be registered, so no route
 * can forget. Per request: credentials → 401, missing permission → 403; ownership (404 for another
 * user's object) is applied by the stores through `ownerScope()`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {} from '@fastify/cookie';
import { AppError } from '../errors.js';
import type { Principal } from '../domain/accounts.js';
import type { Permission, RouteAccess } from '../domain/permissions.js';
import type { AccountStore } from '../store/account-store.js';
import { SESSION_COOKIE, sha256Hex } from './credentials.js';
import { ApiKeyCache, type ApiKeyCacheOptions } from './api-key-cache.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** Every route with what it needs, in registration order (for docs and the access test). */
    routeTable: RouteEntry[];
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  access: RouteAccess;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function installAuthorization(
  app: FastifyInstance,
  accounts: AccountStore,
  apiKeyCache: ApiKeyCacheOptions = {},
): void {
  // A verified API key serves its caller's next requests for up to a second (api-key-cache.ts).
  const apiKeys = new ApiKeyCache(async (hash) => {
    const user = await accounts.credentials.userByApiKeyHash(hash);
    if (user === undefined) return null;
    return { user, permissions: await accounts.effectivePermissions(user.id), via: 'api-key' };
  }, apiKeyCache);
  app.decorateRequest('principal', null);
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);

  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: RouteAccess } | undefined)?.access;
    if (access === undefined) {
      throw new Error(`route ${String(route.method)} ${route.url} must declare config.access`);
    }
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') table.push({ method, url: route.url, access });
    }
  });

  app.addHook('onRequest', async (request) => {
    // Unmatched URLs reach the not-found handler, which has no access of its own.
    const access = request.routeOptions.config.access;
    if (access === undefined || access === 'public') return;
    const principal = await authenticate(request, accounts, apiKeys);
    if (principal === null) throw new AppError('UNAUTHENTICATED');
    if (principal.via === 'session' && !SAFE_METHODS.has(request.method)) checkSameOrigin(request);
    if (access !== 'authenticated' && !holds(principal, access)) {
      throw new AppError('FORBIDDEN', `This needs the "${access}" permission`, {
        permission: access,
      });
    }
    request.principal = principal;
  });
}

async function authenticate(
  request: FastifyRequest,
  accounts: AccountStore,
  apiKeys: ApiKeyCache,
): Promise<Principal | null> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (match === null) return null;
    return apiKeys.get(sha256Hex(match[1]!));
  }
  const token = request.cookies[SESSION_COOKIE];
  if (token === undefined || token === '') return null;
  const user = await accounts.credentials.userBySessionHash(sha256Hex(token));
  if (user === undefined) return null;
  return { user, permissions: await accounts.effectivePermissions(user.id), via: 'session' };
}

/**
 * A cookie-authenticated change must come from the console's own origin: the scheme and host the
 * browser used. Fastify's `request.protocol` and `request.host` give them, reading
 * X-Forwarded-Proto and X-Forwarded-Host only from a proxy CALLHOOK_TRUST_PROXY trusts (a client's
 * own X-Forwarded-Host is ignored), so the console works behind a proxy that rewrites Host.
 */
function checkSameOrigin(request: FastifyRequest): void {
  const source = request.headers.origin ?? request.headers.referer;
  const host = request.host;
  if (source !== undefined && host !== '') {
    try {
      // Compare as URL origins so a default port written out (`localhost:80`) still matches.
      if (new URL(source).origin === new URL(`${request.protocol}://${host}`).origin) return;
    } catch {
      // fall through: an unparsable Origin is not our origin
    }
  }
  throw new AppError('CSRF_REJECTED');
}

/** Whether `principal` holds `permission`: an admin holds every one. */
export function holds(principal: Principal, permission: Permission): boolean {
  return principal.user.admin || principal.permissions.has(permission);
}

/** The answer to a non-admin asking for what only an admin may do. */
export function adminOnly(what: string): AppError {
  return new AppError('FORBIDDEN', `Only an admin can ${what}`, { permission: 'admin' });
}

/**
 * Refuses `what` to a caller that came with an API key: a key may not make credentials of its own
 * user (more keys, a new password), so revoking a leaked key ends what it can do.
 */
export function mustBeSignedIn(principal: Principal, what: string): void {
  if (principal.via === 'session') return;
  throw new AppError('SESSION_REQUIRED', `An API key cannot ${what}: sign in with a password`);
}

/** The signed-in principal of a route that declared an access other than `public`. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new Error('principalOf() on a public route');
  return request.principal;
}

/**
 * The owner filter for the stores: undefined for admins (they see everything), the caller's id
 * otherwise. Another user's object then reads as not found (404).
 */
export function ownerScope(request: FastifyRequest): string | undefined {
  const principal = principalOf(request);
  return principal.user.admin ? undefined : principal.user.id;
}
