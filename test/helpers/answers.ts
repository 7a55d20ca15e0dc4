import type { FastifyRequest } from 'fastify';
import type { App } from '../../src/app.js';

/** One answer a route gave, as the OpenAPI document can check it. */
export interface RecordedAnswer {
  route: string;
  status: number;
  /** Fields the handler returned that the answer left out (its response schema lacks them). */
  dropped: string[];
}

/**
 * Records every JSON answer of a matched route: install with `createTestApp`'s `beforeReady`,
 * then check each against `/api/openapi.json`. A field the handler returned but the serializer
 * dropped means the route's response schema (and so the document) is missing it.
 */
export function recordAnswers(app: App): RecordedAnswer[] {
  const answers: RecordedAnswer[] = [];
  const returned = new WeakMap<FastifyRequest, unknown>();
  app.addHook('preSerialization', async (request, _reply, payload) => {
    returned.set(request, payload);
    return payload;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const url = request.routeOptions.url;
    const json = String(reply.getHeader('content-type') ?? '').startsWith('application/json');
    if (url === undefined || typeof payload !== 'string' || !json) return payload;
    const raw = returned.get(request);
    const sent = fieldsOf(payload === '' ? null : JSON.parse(payload));
    const before = raw === undefined ? [] : [...fieldsOf(JSON.parse(JSON.stringify(raw)))];
    answers.push({
      route: `${request.method} ${url}`,
      status: reply.statusCode,
      dropped: before.filter((field) => !sent.has(field)),
    });
    return payload;
  });
  return answers;
}

/** `a`, `a.b`, `items[].id`…: every field path in a JSON value. */
function fieldsOf(value: unknown, prefix = '', into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) fieldsOf(item, `${prefix}[]`, into);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      into.add(path);
      fieldsOf(inner, path, into);
    }
  }
  return into;
}
