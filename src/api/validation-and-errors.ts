/**
 * How the API checks a request and answers what goes wrong, in one error body
 * (`{error: {code, message, details?}}`, docs/errors.md): the request validator, the error
 * handler, the router's own errors, and the answers for a path no route serves.
 */
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { AppError, errorBody, mustBeTypes, schemaMessage } from '../errors.js';
import type { AllowedMethods } from './allowed-methods.js';

/** 404 in the API's error body for a method and path no route serves (the metrics listener too). */
export function routeNotFound(request: FastifyRequest, reply: FastifyReply): void {
  void reply
    .code(404)
    .send(errorBody('ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`));
}

/**
 * The API's not-found handler: a path some `/api/` route has, asked with a method none takes, is
 * answered `405 METHOD_NOT_ALLOWED` with `Allow`; `OPTIONS` on it, `204` with `Allow`. Anything
 * else is `routeNotFound`.
 */
export function apiRouteNotFound(allowedMethods: AllowedMethods) {
  return (request: FastifyRequest, reply: FastifyReply): void => {
    const taken = allowedMethods(request.url);
    // A route that sent its own request here (`reply.callNotFound()`) takes the method: a 404.
    if (taken.length === 0 || taken.includes(request.method)) {
      routeNotFound(request, reply);
      return;
    }
    const allow = taken.includes('OPTIONS') ? taken : [...taken, 'OPTIONS'];
    void reply.header('allow', allow.join(', '));
    if (request.method === 'OPTIONS') {
      void reply.code(204).send();
      return;
    }
    const path = request.url.split('?')[0];
    void reply
      .code(405)
      .send(
        errorBody(
          'METHOD_NOT_ALLOWED',
          `${path} does not take ${request.method}: it takes ${allow.join(', ')}`,
          { allow },
        ),
      );
  };
}

type ValidationIssue = NonNullable<FastifyError['validation']>[number];

/**
 * A value that fits no branch of a union (`anyOf`, e.g. a number or null) is reported by ajv once
 * per branch and once for the union: `must be >= 0.00001`, `must be null`, `must match a schema in
 * anyOf`. Per field, the branch that took the value's type says what is wrong; when none did, one
 * issue names every type the field takes (`must be number or null`).
 */
function withoutUnionNoise(issues: readonly ValidationIssue[]): ValidationIssue[] {
  const unions = new Set(issues.filter((i) => i.keyword === 'anyOf').map((i) => i.instancePath));
  if (unions.size === 0) return [...issues];
  const out: ValidationIssue[] = [];
  const done = new Set<string>();
  for (const issue of issues) {
    const path = issue.instancePath;
    if (!unions.has(path)) {
      out.push(issue);
      continue;
    }
    if (done.has(path)) continue;
    done.add(path);
    const branches = issues.filter((i) => i.instancePath === path && i.keyword !== 'anyOf');
    const specific = branches.filter((i) => i.keyword !== 'type');
    if (specific.length > 0) out.push(...specific);
    else if (branches.length > 0)
      out.push({
        ...branches[0]!,
        message: mustBeTypes(branches.map((i) => String(i.params['type']))),
      });
    // Only the union's own issue: it is all there is to say.
    else out.push(issue);
  }
  return out;
}

/** Seconds a client is asked to wait when the database is not reachable. */
const STORE_RETRY_AFTER_SECONDS = 5;

/**
 * The API's error answers. `isTransient` is the store's: a database that does not answer for a
 * moment (PostgreSQL down or restarting, SQLite's write lock held too long) is `503
 * STORE_UNAVAILABLE` with `Retry-After`, logged as a warning, not a 500 "unhandled error".
 */
export function errorHandler(isTransient: (error: unknown) => boolean) {
  return (error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply): void => {
    if (error instanceof AppError) {
      if (error.code === 'RATE_LIMITED' && error.details && 'retryAfterSeconds' in error.details) {
        void reply.header('retry-after', String(error.details['retryAfterSeconds']));
      }
      void reply.code(error.status).send(errorBody(error.code, error.message, error.details));
      return;
    }
    if (error.validation) {
      // A property name that breaks `propertyNames` is reported twice by ajv: what is wrong (with
      // the name in `propertyName`), then "property name must be valid". The first says it all.
      const details = withoutUnionNoise(
        error.validation.filter((issue) => issue.keyword !== 'propertyNames'),
      ).map((issue) => ({
        field: fieldOf(error.validationContext, issue.instancePath, {
          ...issue.params,
          ...('propertyName' in issue ? { propertyName: issue.propertyName } : {}),
        }),
        message: schemaMessage(issue.message ?? 'is invalid', issue.params),
      }));
      void reply
        .code(400)
        .send(
          errorBody(
            'VALIDATION_FAILED',
            `Invalid ${error.validationContext ?? 'request'}`,
            details,
          ),
        );
      return;
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        void reply.code(413).send(errorBody('PAYLOAD_TOO_LARGE'));
        return;
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        void reply.code(415).send(errorBody('UNSUPPORTED_MEDIA_TYPE'));
        return;
    }
    if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      void reply
        .code(400)
        .send(errorBody('INVALID_JSON', `The request body is not valid JSON: ${error.message}`));
      return;
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      void reply.code(error.statusCode).send(errorBody('VALIDATION_FAILED', error.message));
      return;
    }
    if (isTransient(error)) {
      request.log.warn({ err: error }, 'store not reachable');
      void reply
        .code(503)
        .header('retry-after', String(STORE_RETRY_AFTER_SECONDS))
        .send(errorBody('STORE_UNAVAILABLE'));
      return;
    }
    request.log.error({ err: error }, 'unhandled error');
    void reply.code(500).send(errorBody('INTERNAL'));
  };
}

/** The router's own errors (a URL that does not decode, a path segment over its cap): 400. */
export function routerErrorHandler(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  void reply
    .code(400)
    .send(
      errorBody('VALIDATION_FAILED', error.message, [{ field: 'url', message: error.message }]),
    );
}

/**
 * `body.config.url` from ajv's `/config/url`; names the missing property for `required`, the
 * unknown one for `additionalProperties` and the offending name for `propertyNames`.
 */
function fieldOf(
  context: string | undefined,
  instancePath: string,
  params: Record<string, unknown>,
): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (typeof params['missingProperty'] === 'string') parts.push(params['missingProperty']);
  if (typeof params['additionalProperty'] === 'string') parts.push(params['additionalProperty']);
  if (typeof params['propertyName'] === 'string') parts.push(params['propertyName']);
  return [context ?? 'body', ...parts].join('.');
}

/**
 * Request validation: a JSON body is taken as sent, while the query string, path parameters and
 * headers, which are text, are read as the numbers and booleans their schemas ask for. One ajv
 * coercing everything (Fastify's default) read a body's `"timeoutMs": null` as 0 and answered
 * "must be >= 100", `true` as 1 and a `null` name as "", while an integration's own `config` and
 * `options` (checked without coercion, integration-input.ts) refused a string for a number.
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const ajv = (coerceTypes: false | 'array') => {
    const instance = new Ajv({
      coerceTypes,
      useDefaults: true,
      removeAdditional: false,
      addUsedSchema: false,
      allErrors: true,
      // `type: [...]` lists accept several JSON types (an IVR variable's value).
      allowUnionTypes: true,
    });
    addFormats.default(instance);
    return instance;
  };
  const body = ajv(false);
  const text = ajv('array');
  return ({ schema, httpPart }) => (httpPart === 'body' ? body : text).compile(schema as object);
}
