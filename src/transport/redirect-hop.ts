/**
 * Following a redirect (the HTTP client's `maxRedirects`): the next hop's URL, method, headers and
 * body. 303 (and 301/302 after a POST) becomes a GET without a body, as browsers do; a hop to
 * another origin keeps only the headers that describe the request and Callhook's own.
 */
import { CALLHOOK_HEADERS, PLAIN_HEADERS } from '../domain/integration.js';

/** One request of a chain of redirects. */
export interface Hop {
  url: URL;
  method: string;
  headers: readonly (readonly [string, string])[];
  body: string | Buffer | undefined;
}

export const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Dropped when a redirect turns the request into a GET without a body. */
const BODY_HEADERS = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
  'transfer-encoding',
]);

/**
 * What a redirect to another origin keeps: headers that describe the request (those whose values
 * integrations do not hold secret, `PLAIN_HEADERS`), the body's own when it is resent, and those
 * Callhook sets. Browsers and curl drop `Authorization` and `Cookie`; any other header may carry a
 * credential too (`X-Api-Key`), so none of them follows the request elsewhere.
 */
const CROSS_ORIGIN_HEADERS = new Set([
  ...PLAIN_HEADERS,
  'content-encoding',
  'content-length',
  ...CALLHOOK_HEADERS,
]);

/** The next request of a redirect, or undefined when the Location cannot be followed. */
export function redirectHop(hop: Hop, status: number, location: string): Hop | undefined {
  let url: URL;
  try {
    url = new URL(location, hop.url);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  // 303 always, and 301/302 after POST, turn into a GET without a body (as browsers do).
  const toGet =
    (status === 303 && hop.method !== 'HEAD') ||
    ((status === 301 || status === 302) && hop.method === 'POST');
  const sameOrigin = url.origin === hop.url.origin;
  const headers = hop.headers.filter(([name]) => {
    const lower = name.toLowerCase();
    if (lower === 'host') return false;
    if (toGet && BODY_HEADERS.has(lower)) return false;
    return sameOrigin || CROSS_ORIGIN_HEADERS.has(lower);
  });
  return {
    url,
    method: toGet ? 'GET' : hop.method,
    headers,
    body: toGet ? undefined : hop.body,
  };
}
