/**
 * The console's one way to the REST API: same origin, the session cookie, JSON in and out. Every
 * answer that is not 2XX becomes an `ApiError` carrying the API's `{error: {code, message,
 * details}}` (docs/errors.md), which forms.ts shows next to the fields it names.
 */

/** One problem of a request, as the API names it (`field` is dotted: `config.url`). */
export interface ErrorDetail {
  field?: string;
  message: string;
  line?: number;
  column?: number;
  [key: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] | Record<string, unknown> | undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The details that name a field, when the API sent a list of them. */
  get fieldDetails(): ErrorDetail[] {
    return Array.isArray(this.details) ? this.details : [];
  }
}

/** Called when the API answers 401: the session ended, the console shows the sign-in page. */
let onUnauthenticated: () => void = () => undefined;
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

export const API = '/api/v1';

interface RequestOptions {
  /** A body sent as it is, with this content type (a CSV file's bytes), instead of JSON. */
  raw?: { body: string | Blob; type: string };
  /** Do not call the sign-in handler on 401 (the sign-in request itself). */
  quiet401?: boolean;
  /** More request headers (`If-Match`). */
  headers?: Record<string, string>;
  /** Given the answer's `ETag`, when it has one. */
  etag?: (tag: string) => void;
}

/**
 * `method path` under /api/v1; resolves with the parsed JSON (undefined for 204).
 *
 * ### Examples
 * ```ts
 * const list = await api<Page<Integration>>('GET', '/integrations?limit=50');
 * await api('PUT', `/users/${id}/permissions/integration`);
 * ```
 */
export async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  let payload: string | Blob | undefined;
  if (options.raw !== undefined) {
    headers['content-type'] = options.raw.type;
    payload = options.raw.body;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path.startsWith('/api/') ? path : API + path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(payload === undefined ? {} : { body: payload }),
    });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', `The service did not answer: ${String(error)}`, undefined);
  }
  const text = await response.text();
  const tag = response.headers.get('etag');
  if (response.ok && tag !== null) options.etag?.(tag);
  if (response.ok) return (text === '' ? undefined : JSON.parse(text)) as T;
  const error = parseError(response.status, text);
  if (response.status === 401 && options.quiet401 !== true) onUnauthenticated();
  throw error;
}

function parseError(status: number, text: string): ApiError {
  try {
    const parsed = JSON.parse(text) as {
      error?: { code?: unknown; message?: unknown; details?: unknown };
    };
    const e = parsed.error;
    if (e !== undefined && typeof e.code === 'string' && typeof e.message === 'string') {
      const details =
        Array.isArray(e.details) || (typeof e.details === 'object' && e.details !== null)
          ? (e.details as ErrorDetail[] | Record<string, unknown>)
          : undefined;
      return new ApiError(status, e.code, e.message, details);
    }
  } catch {
    // not the API's error body: said as it came
  }
  return new ApiError(status, `HTTP_${status}`, text.slice(0, 300) || `HTTP ${status}`, undefined);
}

/** `{items, nextCursor}`: every list the API answers. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A query string from the set values of `params` (`?a=1&b=x`, or '' when none is set). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
