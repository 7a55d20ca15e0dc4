/**
 * Which methods an API path takes, for the not-found handler: a path the API has, asked with a
 * method it does not take, is answered 405 with `Allow` (RFC 9110 §15.5.6), not 404.
 *
 * Fastify's router matches a method and a path together and offers no lookup by path alone, so
 * such a request reaches the not-found handler like an unknown path. Every `/api/` route is
 * therefore recorded, as it is registered, into a second find-my-way router (Fastify's own
 * router, with the same matching options), which the not-found handler asks under each method.
 * Only requests no route served pay for the lookup. Paths outside `/api/` (operations endpoints,
 * the console's files) are not recorded: a method they do not take stays a 404 whatever it is.
 */
import FindMyWay from 'find-my-way';
import type { FastifyInstance } from 'fastify';

export const API_PREFIX = '/api/';

/** The order methods are listed in `Allow`; any other method follows, alphabetically. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * The methods the API routes take on a request URL (path and query, as `request.url`), in
 * `Allow` order; empty when no API route has that path.
 *
 * ### Examples
 * ```ts
 * allowedMethods('/api/v1/events?x=1'); // ['POST']
 * allowedMethods('/api/v1/deliveries/d-1'); // ['GET', 'HEAD']
 * allowedMethods('/healthz'); // []
 * ```
 */
export type AllowedMethods = (url: string) => string[];

/**
 * Records every `/api/` route registered on `app` from now on (call it before registering any);
 * answers which methods a URL's path takes.
 */
export function recordAllowedMethods(app: FastifyInstance): AllowedMethods {
  const { caseSensitive, ignoreTrailingSlash, ignoreDuplicateSlashes, maxParamLength } =
    app.initialConfig;
  const router = FindMyWay({
    ...(caseSensitive === undefined ? {} : { caseSensitive }),
    ...(ignoreTrailingSlash === undefined ? {} : { ignoreTrailingSlash }),
    ...(ignoreDuplicateSlashes === undefined ? {} : { ignoreDuplicateSlashes }),
    ...(maxParamLength === undefined ? {} : { maxParamLength }),
  });
  const methods = new Set<FindMyWay.HTTPMethod>();

  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith(API_PREFIX)) return;
    for (const method of [route.method].flat()) {
      const upper = method.toUpperCase() as FindMyWay.HTTPMethod;
      router.on(upper, route.url, matched);
      methods.add(upper);
    }
  });

  return (url) =>
    [...methods].filter((method) => router.find(method, url) !== null).sort(byAllowOrder);
}

/** The recorded routes are only looked up, never served. */
function matched(): void {}

function byAllowOrder(a: string, b: string): number {
  const rank = (method: string) => {
    const at = METHOD_ORDER.indexOf(method);
    return at === -1 ? METHOD_ORDER.length : at;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}
