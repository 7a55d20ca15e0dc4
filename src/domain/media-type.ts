/** Parameters of a media type (`Content-Type`), as HTTP writes them (RFC 9110 §8.3). */

/**
 * The `charset` parameter of a Content-Type value, unquoted and as written (`""` for `charset=`);
 * undefined without one.
 *
 * ### Example
 * ```ts
 * charsetOf('text/csv; charset="windows-1252"'); // → 'windows-1252'
 * ```
 */
export function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? '');
  return match === null ? undefined : (match[1] ?? match[2] ?? '');
}

/**
 * The `boundary` parameter of a `multipart/…` Content-Type value, unquoted; undefined for another
 * media type or without one.
 *
 * ### Example
 * ```ts
 * boundaryOf('multipart/form-data; boundary="b-42"'); // → 'b-42'
 * ```
 */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!/^\s*multipart\//i.test(contentType ?? '')) return undefined;
  const match = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? '');
  const boundary = match === null ? undefined : (match[1] ?? match[2]);
  return boundary === '' ? undefined : boundary;
}
