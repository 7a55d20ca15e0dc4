/**
 * How deep a request body's free-form values may nest. Code that walks such a value recursively
 * (a deep copy, a merge patch, JSON.stringify of an event or a token value) overflows the stack on
 * a few thousand levels, which a 1 MiB body easily holds: a 500 for the request, and a stack's
 * worth of work per nesting level. Deeper values are refused before anything walks them.
 */
import type { preValidationAsyncHookHandler } from 'fastify';
import { AppError } from '../errors.js';

/** Levels of objects and arrays a body's field may hold (the field's own value is level 1). */
export const MAX_BODY_DEPTH = 64;

/**
 * The first field of `record` whose value nests objects or arrays deeper than `limit`, if any.
 * A loop over two stacks (objects, depths) rather than recursion: the input decides the depth.
 */
export function deepField(record: Record<string, unknown>, limit: number): string | undefined {
  const objects: object[] = [];
  const depths: number[] = [];
  for (const field in record) {
    const top = record[field];
    if (typeof top !== 'object' || top === null) continue;
    objects.push(top);
    depths.push(1);
    while (objects.length > 0) {
      const value = objects.pop()!;
      const depth = depths.pop()!;
      if (depth > limit) return field;
      for (const child of Object.values(value)) {
        if (typeof child === 'object' && child !== null) {
          objects.push(child as object);
          depths.push(depth + 1);
        }
      }
    }
  }
  return undefined;
}

/**
 * A route's `preValidation` hook for bodies with free-form fields (an integration's `config` and
 * `options`, a test sample, an IVR invocation's groups): a field nested deeper than
 * MAX_BODY_DEPTH answers 400 VALIDATION_FAILED naming it.
 */
export const refuseDeepBody: preValidationAsyncHookHandler = async (request) => {
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const field = deepField(body as Record<string, unknown>, MAX_BODY_DEPTH);
  if (field === undefined) return;
  throw new AppError('VALIDATION_FAILED', 'Invalid body', [
    {
      field: `body.${field}`,
      message: `nests objects or arrays deeper than ${MAX_BODY_DEPTH} levels`,
    },
  ]);
};
