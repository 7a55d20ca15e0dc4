/**
 * The cursors of the lists keyed by id (users, roles, API keys, integrations, campaigns, contact
 * lists, deliveries, replay jobs). A page's `nextCursor` is the id of its last item, sealed as
 * base64url of a one-element JSON array, so that a cursor Callhook gave is told from any other
 * text: `cursor=zzz` is refused with 400 naming `querystring.cursor`, where the bare id cursors
 * read it as an id to continue after and answered a wrong or empty page. A cursor still holds a
 * position, not a row: the id of an item deleted since keeps paging.
 *
 * ### Example
 * ```ts
 * const page = await store.list(filter, { cursor: idCursor(request.query.cursor), limit });
 * return withIdCursor(page); // {items, nextCursor: 'WyIwMTkw…'}
 * ```
 */
import { AppError } from '../errors.js';

/** The cursor continuing after the item of id `id`. */
function encodeIdCursor(id: string): string {
  return Buffer.from(JSON.stringify([id]), 'utf8').toString('base64url');
}

/**
 * The id a cursor continues after; undefined without a cursor (the first page). Anything that
 * `encodeIdCursor` did not write is a 400 naming the query parameter.
 */
export function idCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const id = decode(cursor);
  if (id === undefined) {
    throw new AppError('VALIDATION_FAILED', 'The cursor is not one this list gave', [
      {
        field: 'querystring.cursor',
        message:
          'is not a cursor this list gave: send back the nextCursor of the page before as it is, or leave cursor out for the first page',
      },
    ]);
  }
  return id;
}

/** `page` with its `nextCursor` (the last item's id, or null) as a cursor. */
export function withIdCursor<T extends { nextCursor: string | null }>(page: T): T {
  return { ...page, nextCursor: page.nextCursor === null ? null : encodeIdCursor(page.nextCursor) };
}

function decode(cursor: string): string | undefined {
  // Node's base64url decoder skips characters outside its alphabet, and bytes that are not UTF-8
  // become U+FFFD: only a text that `encodeIdCursor` writes back unchanged is one it wrote.
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 1) return undefined;
  const [id] = value as unknown[];
  // PostgreSQL keeps no NUL in text, and half a UTF-16 pair is no id either.
  if (typeof id !== 'string' || id === '' || /\u0000|\p{Cs}/u.test(id)) return undefined;
  return encodeIdCursor(id) === cursor ? id : undefined;
}
