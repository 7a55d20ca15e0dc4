/**
 * `/api/openapi.json` describes the routes that exist (SPEC §8): every registered route is in it
 * (but the operations endpoints outside the REST API) and nothing else; each operation says what
 * an error answers (the one error body), which credentials it takes, and asks of the client only
 * what a request must carry (a field with a default, like `limit`, is not required). The answers
 * themselves are checked against the document by auth.route-access.test.ts, which calls every
 * route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** Operations endpoints, outside `/api/v1` and the document by design (README.md). */
const UNDOCUMENTED = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /api/openapi.json',
  // The web console's page and files (src/api/console.routes.ts), not part of the API.
  'GET /',
  'GET /console/*',
];

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  default?: unknown;
  allOf?: Schema[];
  anyOf?: Schema[];
  items?: Schema;
}
interface Operation {
  parameters?: { in: string; name: string; required?: boolean; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
  security?: Record<string, string[]>[];
}
interface Document {
  security?: Record<string, string[]>[];
  paths: Record<string, Record<string, Operation>>;
}

/** Every required name in `schema` (nested objects, allOf/anyOf) whose property has a default. */
function requiredWithDefault(schema: Schema, at: string): string[] {
  const own = (schema.required ?? [])
    .filter((name) => schema.properties?.[name]?.default !== undefined)
    .map((name) => `${at}.${name}`);
  const nested = [
    ...Object.entries(schema.properties ?? {}).map(([name, inner]) => [inner, `${at}.${name}`]),
    ...[...(schema.allOf ?? []), ...(schema.anyOf ?? [])].map((inner) => [inner, at]),
    ...(schema.items ? [[schema.items, `${at}[]`]] : []),
  ] as [Schema, string][];
  return [...own, ...nested.flatMap(([inner, path]) => requiredWithDefault(inner, path))];
}

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: Document;
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        key: `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`,
        op,
      })),
    );
  beforeAll(async () => {
    t = await createTestApp('sqlite');
    doc = (await t.app.inject('/api/openapi.json')).json<Document>();
  });
  afterAll(async () => t.close());

  it('has every registered route, and no other', () => {
    const routes = t.app.routeTable.map((r) => `${r.method} ${r.url}`);
    const documented = operations().map((o) => o.key);
    expect(routes.filter((r) => !documented.includes(r) && !UNDOCUMENTED.includes(r))).toEqual([]);
    expect(documented.filter((d) => !routes.includes(d))).toEqual([]);
    expect(UNDOCUMENTED.filter((r) => !routes.includes(r))).toEqual([]);
  });

  it('gives each operation a success answer and the error body for 4XX and 5XX', () => {
    const errorBody = {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message'],
          properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
        },
      },
    };
    for (const { key, op } of operations()) {
      const statuses = Object.keys(op.responses);
      expect(statuses.filter((s) => /^2\d\d$/.test(s)).length, key).toBe(1);
      for (const range of ['4XX', '5XX']) {
        expect(
          op.responses[range]?.content?.['application/json']?.schema,
          `${key} ${range}`,
        ).toMatchObject(errorBody);
      }
    }
  });

  it('says which credentials each operation takes', () => {
    const credentials = [{ apiKey: [] }, { session: [] }];
    expect(doc.security).toEqual(credentials);
    for (const { key, op } of operations()) {
      const access = t.app.routeTable.find((r) => `${r.method} ${r.url}` === key)!.access;
      if (access === 'public') expect(op.security, key).toEqual([]);
      else expect(op.security ?? doc.security, key).toEqual(credentials);
    }
  });

  it('requires of a request nothing that has a default', () => {
    const found = operations().flatMap(({ key, op }) => [
      ...(op.parameters ?? [])
        .filter((p) => p.required === true && p.schema.default !== undefined)
        .map((p) => `${key} ${p.in}.${p.name}`),
      ...Object.values(op.requestBody?.content ?? {}).flatMap((c) =>
        requiredWithDefault(c.schema, `${key} body`),
      ),
    ]);
    expect(found).toEqual([]);
  });
});
