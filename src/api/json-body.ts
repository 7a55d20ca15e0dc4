/**
 * The JSON body parser: Fastify's own (prototype-poisoning checks included), for UTF-8 bodies
 * only, with an answer that says what is wrong and where. Fastify's answers every failure with one sentence ("Body is not
 * valid JSON but content-type is set to 'application/json'"), which names neither the position
 * of a syntax error in a 1,000-event batch nor the `__proto__` key it refuses in valid JSON.
 * And the routes that take no body (actions such as a campaign's start) refuse one with content.
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, preValidationHookHandler } from 'fastify';
import { firstNonUtf8, hexByte } from '../domain/utf8.js';
import { AppError, type ErrorDetail } from '../errors.js';
import { jsonSyntaxError } from '../template/body-structure.js';
import { positioner } from '../template/problems.js';

/**
 * The answer to a body Fastify's parser refused: where the JSON goes wrong (line, column, what
 * was expected), or the refused key. Only called after a refusal, so a good body is parsed once.
 *
 * ### Example
 * ```ts
 * jsonBodyError('{"a": 1,\n}').details;
 * // → [{ field: 'body', line: 2, column: 1,
 * //      message: 'expected a quoted property name, found "}"' }]
 * ```
 */
export function jsonBodyError(body: string): AppError {
  try {
    JSON.parse(body);
  } catch (error) {
    // JSON.parse's own message gives no position for most mistakes ("Unexpected token ','").
    const syntax = jsonSyntaxError(body);
    if (syntax === undefined) {
      const message = error instanceof Error ? error.message : String(error);
      return new AppError('INVALID_JSON', `The request body is not valid JSON: ${message}`, [
        { field: 'body', message },
      ]);
    }
    const at = positioner(body, { field: 'body' })(syntax.offset, syntax.message);
    return new AppError(
      'INVALID_JSON',
      `The request body is not valid JSON at line ${at.line}, column ${at.column}: ${at.message}`,
      [{ ...at }],
    );
  }
  // JSON.parse took it: Fastify refused a key that could reach an object's prototype.
  const message =
    'holds a "__proto__" key, or a "constructor" object with a "prototype" key, which are refused';
  return new AppError('INVALID_JSON', `The request body ${message}`, [{ field: 'body', message }]);
}

/** The answer to a body that is not UTF-8, naming its first such byte. */
function notUtf8(bytes: Buffer): AppError {
  const at = firstNonUtf8(bytes);
  return new AppError(
    'INVALID_JSON',
    `The request body is not valid JSON: it is not UTF-8 (byte ${hexByte(bytes, at)} at offset ${at}); send it as UTF-8`,
  );
}

/**
 * Replaces Fastify's JSON parser with the same parser answering as jsonBodyError says, refusing a
 * body that is not UTF-8, and taking an empty body as none; `application/merge-patch+json` is
 * parsed the same way.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // A JSON Merge Patch (RFC 7396, an integration's PATCH) is JSON under its own media type.
  const types = ['application/json', 'application/merge-patch+json'];
  app.addContentTypeParser(types, { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    // JSON is UTF-8 (RFC 8259): a body with bytes that are not (a Latin-1 "José") is refused,
    // where decoding it would store U+FFFD in place of each such letter, unseen.
    if (!isUtf8(bytes)) {
      done(notUtf8(bytes), undefined);
      return;
    }
    const text = bytes.toString('utf8');
    // No body at all is no body, whatever the header says: many clients send
    // `Content-Type: application/json` on every POST, also on actions that take none (a retry, a
    // campaign's start). A route that needs a body says so through its schema.
    if (text === '') {
      done(null, undefined);
      return;
    }
    parse(request, text, (error: Error | null, value?: unknown) => {
      if (error === null || (error as { code?: string }).code !== 'FST_ERR_CTP_INVALID_JSON_BODY') {
        done(error, value);
        return;
      }
      done(jsonBodyError(text), undefined);
    });
  });
}

/** Methods whose requests may carry a body; a route of these without a body schema takes none. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Routes that define no body (SPEC §8: a campaign's start, pause, resume and stop, a delivery's
 * retry and cancel, a replay job's cancel, logout, grants, deletes) take none: an empty body or
 * `{}` (what many clients send on every POST) is none, anything else is a 400 naming each
 * property sent (`body.force`), or `body` for a value that is not an object. Such a body was
 * accepted and ignored, so a client could believe an option it sent (`{"force": true}`) was
 * applied. Registered before the routes: an `onRoute` hook adds the check to each of them.
 */
export function refuseBodiesWhereNoneIsTaken(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.schema?.body !== undefined) return;
    if (![route.method].flat().some((method) => BODY_METHODS.has(method))) return;
    route.preValidation = [...[route.preValidation ?? []].flat(), refuseBody];
  });
}

const refuseBody: preValidationHookHandler = (request, _reply, done) => {
  const body: unknown = request.body;
  // An empty body is none whatever its type says (a CSV parser gives '').
  if (body === undefined || body === '') return done();
  const object = typeof body === 'object' && body !== null && !Array.isArray(body);
  const keys = object ? Object.keys(body) : [];
  if (object && keys.length === 0) return done();
  const route = `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;
  // Each property named, up to a point: a body of 100,000 keys does not get an answer ten times
  // its size.
  const named: ErrorDetail[] = keys.slice(0, MAX_NAMED).map((key) => ({
    field: `body.${key}`,
    message: 'is not taken: this route takes no body (send none, or {})',
  }));
  if (keys.length > MAX_NAMED) {
    named.push({ field: 'body', message: `and ${keys.length - MAX_NAMED} more properties` });
  }
  done(
    new AppError(
      'VALIDATION_FAILED',
      `${route} takes no body: send none, or {}`,
      object
        ? named
        : [{ field: 'body', message: 'must be empty or {}: this route takes no body' }],
    ),
  );
};

/** How many properties of a refused body are named one by one. */
const MAX_NAMED = 20;
