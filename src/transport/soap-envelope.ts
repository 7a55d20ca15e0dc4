/**
 * Whether an answer is a SOAP envelope at all: a 2xx that is a proxy's or a login page is told
 * from a SOAP answer by its root element, read without a parser and without backtracking.
 */
/** What may come before the root element, each matched where the last one ended. */
const PROLOG = [/\s+/y, /<\?[\s\S]*?\?>/y, /<!--[\s\S]*?-->/y, /<!DOCTYPE[^>]*>/y];
const ENVELOPE_START = /<([\w.-]+:)?Envelope\b([^>]*)>/y;

const ENVELOPE_NAMESPACES = new Set([
  'http://schemas.xmlsoap.org/soap/envelope/',
  'http://www.w3.org/2003/05/soap-envelope',
]);

/**
 * Whether the document's root element is a SOAP 1.1 or 1.2 Envelope. The root declares its own
 * prefix (nothing outside it can), so its start tag says all.
 */
export function isSoapEnvelope(body: string): boolean {
  // Skip a BOM, the XML declaration, processing instructions, comments and a doctype, one at a
  // time: a single pattern repeating these (`(?:\s+|…)*`) backtracks exponentially on a page that
  // is not an envelope, and one answer would hold the event loop for minutes.
  let at = body.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let skipped = true; skipped;) {
    skipped = false;
    for (const prolog of PROLOG) {
      prolog.lastIndex = at;
      if (prolog.test(body)) {
        at = prolog.lastIndex;
        skipped = true;
      }
    }
  }
  ENVELOPE_START.lastIndex = at;
  const start = ENVELOPE_START.exec(body);
  if (start === null) return false;
  const prefix = start[1]?.slice(0, -1);
  const attributes = start[2] ?? '';
  const declaration = new RegExp(
    `\\sxmlns${prefix === undefined ? '' : `:${prefix.replace(/[.-]/g, '\\$&')}`}\\s*=\\s*(["'])(.*?)\\1`,
  ).exec(attributes);
  return declaration !== null && ENVELOPE_NAMESPACES.has(declaration[2] ?? '');
}
