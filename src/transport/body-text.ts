/**
 * A response body kept as text for logs and IVR variables: its first bytes only (a CRM that
 * answers 10 MB is not stored whole), decoded as UTF-8.
 */
import { StringDecoder } from 'node:string_decoder';
import { briefly } from '../template/body-structure.js';

/** How much of a response body is kept, for the attempt log and for IVR variables. */
export const KEPT_BODY_BYTES = 64 * 1024;

export interface BodyText {
  text: string;
  /** The body was longer than `text`. */
  truncated: boolean;
}

/**
 * The first `limit` bytes of `body` as UTF-8 text, and whether there was more. `cut` says `body`
 * is already only the start of a longer body (the HTTP client keeps that much). A character the
 * cut splits is left out whole rather than ending the text as U+FFFD; bytes that are not UTF-8
 * elsewhere are U+FFFD as usual.
 *
 * ### Example
 * ```ts
 * bodyText(Buffer.from('é'), 1); // → { text: '', truncated: true }
 * ```
 */
export function bodyText(body: Buffer | string, limit: number, cut = false): BodyText {
  // A string whose every character could take 3 bytes and still fit needs no counting.
  if (typeof body === 'string' && (body.length * 3 <= limit || Buffer.byteLength(body) <= limit))
    return { text: body, truncated: cut };
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const over = bytes.length > limit;
  const kept = over ? bytes.subarray(0, limit) : bytes;
  // StringDecoder.write() holds back a trailing incomplete character instead of replacing it.
  const text = over || cut ? new StringDecoder('utf8').write(kept) : kept.toString('utf8');
  return { text, truncated: over || cut };
}

/**
 * The start of a body on one line, for a message (a WSDL server's error page, an answer that is
 * not SOAP): whitespace runs made one space, cut by `briefly` at 200 characters, never between
 * the two halves of a UTF-16 pair.
 */
export function bodySnippet(body: string): string {
  return briefly(body.replace(/\s+/g, ' ').trim());
}
