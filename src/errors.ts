/**
 * Every error code the API answers with, in one table (status, message, how to fix).
 * `docs/errors.md` is this table rendered; a test keeps the two in step.
 */
export const errorCodes = {
  VALIDATION_FAILED: {
    status: 400,
    message: 'The request is not valid',
    fix: 'Read `details`: each entry names the field (and line and column for templates) and what is wrong.',
  },
  INVALID_JSON: {
    status: 400,
    message: 'The request body is not valid JSON',
    fix: 'Send a well-formed JSON document, encoded as UTF-8, with `Content-Type: application/json`: `details` gives the `line` and `column` where it goes wrong, or names a refused `__proto__` key.',
  },
  UNAUTHENTICATED: {
    status: 401,
    message: 'Sign in or send an API key',
    fix: 'Send `Authorization: Bearer <key>` or the session cookie from `POST /api/v1/auth/login`.',
  },
  INVALID_CREDENTIALS: {
    status: 401,
    message: 'Wrong email or password',
    fix: 'Check the email and password; after repeated failures wait before trying again.',
  },
  FORBIDDEN: {
    status: 403,
    message: 'You do not have the permission this needs',
    fix: 'Ask an admin to grant the permission named in `details.permission`, to you or to one of your roles.',
  },
  SESSION_REQUIRED: {
    status: 403,
    message: 'This needs a signed-in session, not an API key',
    fix: "Sign in with email and password (the console, or `POST /api/v1/auth/login`), or run `callhook keys create` on the server. An API key cannot make more keys or change its own user's password, so a leaked key stops working when it is revoked.",
  },
  CSRF_REJECTED: {
    status: 403,
    message: 'A state-changing request signed in by cookie must come from the console',
    fix: 'Send the request from the console origin, or use an API key.',
  },
  NOT_FOUND: {
    status: 404,
    message: 'Not found',
    fix: 'Check the id and the path; objects owned by other users are reported as not found.',
  },
  ROUTE_NOT_FOUND: {
    status: 404,
    message: 'No such route',
    fix: 'Check the method and path against `/api/openapi.json`.',
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    message: 'This path does not take this method',
    fix: 'Use one of the methods the `Allow` header and `details.allow` list (`OPTIONS` on the path answers the same list).',
  },
  CONFLICT: {
    status: 409,
    message: 'This conflicts with the current state',
    fix: 'Read `message`: e.g. the name or email is taken, or the object changed meanwhile.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'The request body is too large',
    fix: 'Event batches may be up to 10 MiB, any other body up to 1 MiB: split the request.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Unsupported Content-Type',
    fix: 'Send `Content-Type: application/json` (a contact import also takes `text/csv`).',
  },
  RATE_LIMITED: {
    status: 429,
    message: 'Too many attempts',
    fix: 'Wait for the number of seconds in the `Retry-After` header.',
  },
  INTERNAL: {
    status: 500,
    message: 'Internal error',
    fix: 'A bug or broken infrastructure: the log line with the request id says more.',
  },
  STORE_UNAVAILABLE: {
    status: 503,
    message: 'The database is not reachable',
    fix: 'Try again after the seconds in the `Retry-After` header (an event batch is safe to send again: its ids are kept). If it lasts, check the database and the log line with the request id.',
  },
  NOT_READY: {
    status: 503,
    message: 'The service is not ready',
    fix: '`/readyz` got no answer from the store within 2 s: check the database; retry shortly.',
  },
} as const satisfies Record<string, { status: number; message: string; fix: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** One entry of `details`: what was wrong and where. */
export interface ErrorDetail {
  field?: string;
  message: string;
  line?: number;
  column?: number;
  [key: string]: unknown;
}

/** An expected API failure: becomes `{error: {code, message, details?}}` with the code's status. */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: ErrorDetail[] | Record<string, unknown>,
  ) {
    super(message ?? errorCodes[code].message);
    this.name = 'AppError';
    this.status = errorCodes[code].status;
  }
}

/** The body every API error has. */
export function errorBody(
  code: ErrorCode,
  message: string = errorCodes[code].message,
  details?: unknown,
): { error: { code: ErrorCode; message: string; details?: unknown } } {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/**
 * A schema checker's message for one problem, with the values a fixed list takes: ajv and
 * typebox say only "must be equal to one of the allowed values".
 *
 * ### Example
 * ```ts
 * schemaMessage('must be equal to one of the allowed values', { allowedValues: ['a', 'b'] });
 * // → 'must be one of: a, b'
 * ```
 */
/** The pattern of a name (`DisplayName`): at least one character that is not white space. */
export const NOT_BLANK = '\\S';

export function schemaMessage(message: string, params: Record<string, unknown>): string {
  const allowed = params['allowedValues'];
  if (Array.isArray(allowed)) return `must be one of: ${allowed.map(String).join(', ')}`;
  // A type list (`type: ['number', 'null']`): ajv says `must be number,null`.
  const types = params['type'];
  if (Array.isArray(types)) return mustBeTypes(types.map(String));
  if (params['pattern'] === NOT_BLANK) return 'must not be blank';
  return message;
}

/**
 * What a value of none of a field's types must be, naming them all: `must be number or null`,
 * `must be string, number, boolean or null` (a schema validator says it once per type tried).
 */
export function mustBeTypes(types: readonly string[]): string {
  return types.length > 1
    ? `must be ${types.slice(0, -1).join(', ')} or ${types.at(-1)!}`
    : `must be ${types[0] ?? 'valid'}`;
}
