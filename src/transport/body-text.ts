/**
 * A response body kept as text for logs and IVR variables: its first bytes only (a CRM that
 * answers 10 MB is not stored whole), decoded as its byte order mark, else its `Content-Type`
 * charset (or an XML declaration's encoding) says, UTF-8 otherwise.
 */
import { StringDecoder } from 'node:string_decoder';
import { briefly } from '../template/body-structure.js';
import { byteOrderMark, StandardTextDecoder } from '../domain/text-decoder.js';

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
export function bodyText(
  body: Buffer | string,
  limit: number,
  cut = false,
  charset?: string,
): BodyText {
  // A string whose every character could take 3 bytes and still fit needs no counting.
  if (typeof body === 'string' && (body.length * 3 <= limit || Buffer.byteLength(body) <= limit))
    return { text: body, truncated: cut };
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const over = bytes.length > limit;
  const kept = over ? bytes.subarray(0, limit) : bytes;
  const legacy = typeof body === 'string' ? undefined : legacyDecoder(kept, charset);
  // Both decoders hold back a trailing incomplete character (`stream`) instead of replacing it.
  const text =
    legacy !== undefined
      ? legacy.decode(kept, { stream: over || cut })
      : over || cut
        ? new StringDecoder('utf8').write(kept)
        : kept.toString('utf8');
  return { text, truncated: over || cut };
}

/**
 * A whole body as text, in the charset `bodyText` would read it in: its byte order mark's, else
 * `charset` (a `Content-Type`'s), else an XML declaration's encoding, else UTF-8, without a UTF-8
 * byte order mark.
 *
 * ### Example
 * ```ts
 * decodeBody(Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><r>\xe9</r>', 'latin1'));
 * // → '<?xml version="1.0" encoding="ISO-8859-1"?><r>é</r>'
 * ```
 */
export function decodeBody(bytes: Buffer, charset?: string): string {
  const legacy = legacyDecoder(bytes, charset);
  if (legacy !== undefined) return legacy.decode(bytes);
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** `<?xml version="1.0" encoding="ISO-8859-1"?>` at the start of a body: its encoding. */
const XML_DECLARATION = /^<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/;

/**
 * A decoder for a body that is not UTF-8: the one its byte order mark names, else the declared
 * charset (a Latin-1 CRM answering `text/plain; charset=iso-8859-1`, an XML answer whose
 * declaration says `ISO-8859-1`), when the platform knows it. Undefined: UTF-8 (a UTF-8 mark, no
 * charset, UTF-8 itself, or a label nobody knows).
 */
function legacyDecoder(
  bytes: Buffer,
  charset: string | undefined,
): StandardTextDecoder | undefined {
  // A byte order mark decides, whatever the labels say; UTF-8 keeps to the UTF-8 path.
  const marked = byteOrderMark(bytes);
  if (marked !== undefined) return marked === 'utf-8' ? undefined : new StandardTextDecoder(marked);
  // Most answers have no charset or say UTF-8, and are not XML: nothing to read or construct.
  const declared =
    charset === undefined && bytes[0] === 0x3c // "<"
      ? XML_DECLARATION.exec(bytes.subarray(0, 200).toString('latin1'))?.[1]
      : undefined;
  const label = charset ?? declared;
  if (label === undefined || /^\s*utf-?8\s*$/i.test(label)) return undefined;
  // ASCII is UTF-8's first half (the WHATWG table would read it as windows-1252): a body
  // labelled ASCII that holds UTF-8 anyway reads right.
  if (/^\s*(us-)?ascii\s*$/i.test(label)) return undefined;
  let decoder: StandardTextDecoder;
  try {
    decoder = new StandardTextDecoder(label.trim());
  } catch {
    return undefined;
  }
  // TextDecoder drops a byte order mark; the UTF-8 path keeps it (JSON and XML readers skip it).
  if (decoder.encoding === 'utf-8') return undefined;
  // Bytes that spell `<?xml` are not UTF-16 (XML 1.0, appendix F), whatever the declaration says:
  // .NET's XmlWriter over a string declares `utf-16`, and the string goes out as UTF-8.
  if (declared !== undefined && decoder.encoding.startsWith('utf-16')) return undefined;
  return decoder;
}

/**
 * The start of a body on one line, for a message (a WSDL server's error page, an answer that is
 * not SOAP): whitespace runs made one space, cut by `briefly` at 200 characters, never between
 * the two halves of a UTF-16 pair.
 */
export function bodySnippet(body: string): string {
  return briefly(body.replace(/\s+/g, ' ').trim());
}
