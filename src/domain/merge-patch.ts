/**
 * JSON Merge Patch (RFC 7396), the meaning of `config` and `options` in an integration's PATCH.
 *
 * Written here rather than taken from `json-merge-patch`: that package changes the target in
 * place and, meeting a `constructor` or `prototype` key, stops and drops the rest of the patch
 * without a word; the algorithm itself is the few lines below.
 */

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `target` with `patch` applied: an object merges key by key, at every depth; `null` removes the
 * key; anything else (a string, a number, an array) replaces what was there. Neither argument is
 * changed.
 *
 * ### Examples
 * ```ts
 * mergePatch({ retry: { maxAttempts: 8, scheduleSeconds: [5, 60] }, maxConcurrency: 4 },
 *            { retry: { maxAttempts: 3 }, maxConcurrency: null });
 * // → { retry: { maxAttempts: 3, scheduleSeconds: [5, 60] } }
 * ```
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const merged = new Map(Object.entries(isObject(target) ? target : {}));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) merged.delete(key);
    else merged.set(key, mergePatch(merged.get(key), value));
  }
  // fromEntries defines each key as the object's own: a "__proto__" key stays a key.
  return Object.fromEntries(merged);
}
