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
