/**
 * What `/api/openapi.json` says beyond the routes' own schemas: the credentials each operation
 * takes, the one error body for every 4XX and 5XX answer, and that a field with a default is not
 * required of the client (TypeBox lists it in `required`, where the server fills it in). The
 * 405 a path answers to a method it does not list belongs to no operation: `info.description`
 * says it.
 */
import type { SwaggerOptions } from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import type { RouteAccess } from '../domain/permissions.js';
import { ErrorResponse } from './schemas.js';

const CREDENTIALS = [{ apiKey: [] }, { session: [] }];

export const openapiOptions: SwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'Callhook API',
      version: '1',
      description: [
        'Every 4XX and 5XX answer has the body `{error: {code, message, details?}}` (docs/errors.md).',
        'A path below asked with a method it does not list answers 405 `METHOD_NOT_ALLOWED` with an',
        '`Allow` header (and `details.allow`) naming the methods it takes; `OPTIONS` on it answers',
        '204 with the same `Allow`.',
      ].join(' '),
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer' },
        session: { type: 'apiKey', in: 'cookie', name: 'callhook_session' },
      },
    },
    security: CREDENTIALS,
  },
  transform: ({ schema, url, route }) => {
    const access = (route.config as { access?: RouteAccess } | undefined)?.access;
    const request = ['body', 'querystring', 'params', 'headers'] as const;
    const documented: FastifySchema & { security?: unknown } = { ...schema };
    for (const part of request) {
      if (schema[part] !== undefined) documented[part] = withoutRequiredDefaults(schema[part]);
    }
    documented.response = {
      ...(schema.response as Record<string, unknown> | undefined),
      '4xx': ErrorResponse,
      '5xx': ErrorResponse,
    };
    if (access === 'public') documented.security = [];
    return { schema: documented, url };
  },
};

/** A copy of a JSON schema in which no property with a `default` is `required`. */
function withoutRequiredDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutRequiredDefaults);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = withoutRequiredDefaults(value);
  const properties = copy['properties'] as Record<string, { default?: unknown }> | undefined;
  if (Array.isArray(copy['required']) && properties !== undefined) {
    copy['required'] = (copy['required'] as string[]).filter(
      (name) => properties[name]?.default === undefined,
    );
  }
  return copy;
}
