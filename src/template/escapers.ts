/**
 * Escaping by context: each function turns a token's text into text that can only be data where
 * it lands. Every one has a fast path (a regex test) because most values need nothing.
 */

/** Lone surrogates cannot be encoded as UTF-8; like TextEncoder, send U+FFFD instead. */
export function wellFormed(text: string): string {
  return /[\uD800-\uDFFF]/.test(text) ? text.replace(/\p{Cs}/gu, '\uFFFD') : text;
}

const hex = (code: number) => `%${code.toString(16).toUpperCase().padStart(2, '0')}`;

/** Each ASCII character as RFC 3986 component encoding writes it (a table: the hot path). */
const PERCENT_ASCII = Array.from({ length: 128 }, (_, code) => {
  const ch = String.fromCharCode(code);
  return /[A-Za-z0-9\-._~]/.test(ch) ? ch : hex(code);
});

/**
 * RFC 3986 component encoding: everything but `A-Z a-z 0-9 - . _ ~` is percent-encoded as UTF-8,
 * so `+` is `%2B`, `/` is `%2F` and `&` is `%26`.
 */
export function percentEncode(text: string): string {
  if (/^[A-Za-z0-9\-._~]*$/.test(text)) return text;
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 128) {
      const rest = encodeURIComponent(wellFormed(text.slice(i)));
      return out + rest.replace(/[!'()*]/g, (c) => hex(c.charCodeAt(0)));
    }
    out += PERCENT_ASCII[code];
  }
  return out;
}

/** application/x-www-form-urlencoded, as URLSearchParams writes it (space is `+`). */
export function formEncode(text: string): string {
  if (/^[A-Za-z0-9\-._*]*$/.test(text)) return text;
  return encodeURIComponent(wellFormed(text))
    .replace(/[!'()~]/g, (c) => hex(c.charCodeAt(0)))
    .replace(/%20/g, '+');
}

/**
 * A base URL standing at the start of a URL template is kept as a URL: its reserved characters
 * stay, characters a URL cannot hold (space, non-ASCII, `"` …) are percent-encoded, and a `%` that
 * does not start an escape becomes `%25`.
 */
export function urlPrefixEncode(text: string): string {
  return wellFormed(text).replace(
    /%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/gu,
    (c) => encodeURIComponent(c),
  );
}

/** The inside of a JSON string: JSON.stringify's escaping (lone surrogates become `\udxxx`). */
export function jsonStringEscape(text: string): string {
  if (!/["\\\u0000-\u001f\uD800-\uDFFF]/.test(text)) return text;
  return JSON.stringify(text).slice(1, -1);
}

/**
 * XML 1.0 cannot carry C0 controls other than tab, CR and LF, lone surrogates, U+FFFE or U+FFFF,
 * not even as character references: they become U+FFFD.
 */
const XML_UNCARRIABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|\p{Cs}/gu;

export function xmlSafe(text: string): string {
  return text.replace(XML_UNCARRIABLE, '\uFFFD');
}

const XML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  // As references, tab, CR and LF survive attribute-value and line-end normalization.
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/** Element content and attribute values alike (both quotes are escaped). */
export function xmlEscape(text: string): string {
  if (!/[&<>"'\u0000-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/.test(text)) return text;
  return xmlSafe(text).replace(/[&<>"'\t\n\r]/g, (c) => XML_ENTITIES[c] ?? c);
}

/**
 * Inside `<![CDATA[ … ]]>` references are not read, so what CDATA cannot hold leaves it for a
 * moment: `]]>` is split across two sections, and a CR (which parsers turn into LF) is written
 * as `&#13;` between two sections.
 */
export function cdataEscape(text: string): string {
  if (!/[\]\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/.test(text))
    return text;
  return xmlSafe(text).replaceAll(']]>', ']]]]><![CDATA[>').replaceAll('\r', ']]>&#13;<![CDATA[');
}

/** Characters a header value may not carry: NUL, CR, LF and the other controls except tab. */
export const HEADER_FORBIDDEN = /[\u0000-\u0008\u000A-\u001F\u007F]/;

const CONTROL_NAMES: Record<string, string> = {
  '\u0000': 'NUL (U+0000)',
  '\n': 'a line feed (U+000A)',
  '\r': 'a carriage return (U+000D)',
};

export function describeControl(ch: string): string {
  const name = CONTROL_NAMES[ch];
  if (name !== undefined) return name;
  return `a control character (U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')})`;
}

/**
 * Header values go on the wire as UTF-8. undici writes a header string byte for byte (latin1)
 * and refuses characters above U+00FF, so a value with non-ASCII text is handed over as the
 * latin1 view of its UTF-8 bytes.
 */
export function headerWireValue(text: string): string {
  if (!/[^\u0000-\u007F]/.test(text)) return text;
  return Buffer.from(wellFormed(text), 'utf8').toString('latin1');
}

/**
 * The text a header value on the wire stands for, to show it (attempt logs, the test endpoint): the
 * inverse of headerWireValue. A value whose bytes are not UTF-8 (a remote's latin1 header) is
 * shown as its bytes read as latin1, as received.
 *
 * ### Example
 * ```ts
 * headerTextValue(headerWireValue('Zoë')); // → 'Zoë'
 * ```
 */
export function headerTextValue(wire: string): string {
  if (!/[\u0080-\u00FF]/.test(wire) || /[^\u0000-\u00FF]/.test(wire)) return wire;
  try {
    return STRICT_UTF8.decode(Buffer.from(wire, 'latin1'));
  } catch {
    return wire;
  }
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
