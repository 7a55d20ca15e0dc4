import { errorCodes } from './errors.js';

/** `docs/errors.md`, rendered from the error table (`npm run docs:errors` writes it). */
export function renderErrorsDoc(): string {
  const rows = Object.entries(errorCodes).map(
    ([code, e]) => `| \`${code}\` | ${e.status} | ${e.message} | ${e.fix} |`,
  );
  return [
    '# Error codes',
    '',
    'Every API error answers with the same body: `{"error": {"code", "message", "details"?}}`.',
    '`details`, when present, says what was wrong and where (for validation: a list of',
    '`{field, message}`, with `line` and `column` for templates). A value outside a fixed list',
    'is answered with the values it may take: `must be one of: http, soap`, and a value that fits',
    'no type a field takes (a number or null) with what is wrong with it (`must be <= 10000`) or',
    'the types it takes (`must be number or null`), once.',
    '',
    'A path the API has (under `/api/`), asked with a method none of its routes takes, answers',
    '`405 METHOD_NOT_ALLOWED` with an `Allow` header listing the methods it takes (HEAD wherever',
    'GET is, and OPTIONS), also in `details.allow`; `OPTIONS` on such a path answers `204` with the',
    'same `Allow`. A path no route has answers `404 ROUTE_NOT_FOUND`, and so does a path outside',
    '`/api/` (`/healthz`, `/readyz`, `/metrics`) asked with a method it does not take.',
    '',
    'An empty body is no body, whatever its `Content-Type`: an action that takes none (a retry, a',
    "campaign's start) is done; a route that needs one answers `400 VALIDATION_FAILED` naming `body`.",
    '',
    'A JSON body is taken as sent: a field that takes a number refuses `"2500"`, `null` or `true`',
    '(`must be integer`), and a field that takes a string refuses a number. The query string is',
    'text: `?limit=20` is read as the number its route asks for. A name (of a user, a role, an API',
    'key, a contact list, a campaign or an integration) of white space only is `must not be blank`.',
    '',
    "A free-form value (an integration's `config` and `options`, a test sample, an IVR",
    "invocation's `call`, `contact` and `campaign`, a call event's fields) may nest objects and",
    'arrays 64 levels deep: deeper is `400 VALIDATION_FAILED` naming the top-level field (for an',
    'event in a batch, that event is rejected).',
    '',
    'This file is generated from `src/errors.ts` by `npm run docs:errors`; a test keeps it current.',
    '',
    '| code | status | message | how to fix |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
