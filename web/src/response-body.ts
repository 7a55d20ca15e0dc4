/**
 * A recorded response body shown as its integration's response encoding reads it (SPEC §2.1): JSON
 * and XML indented two spaces a level, text as it came. Only the layout changes: every token of
 * the JSON (a number such as `12.50` or `12345678901234567890`, a string with its escapes) and
 * every tag, attribute, text and entity of the XML is kept as received, and only the whitespace
 * between them is laid out again. A body that does not read as its encoding (an HTML error page, a
 * body cut at 64 KiB) is shown as it came. Nothing is parsed by the browser's HTML or XML parser:
 * the result is text, set as a text node.
 */
import { h, pre, type Attrs } from './dom.js';
import type { Integration } from './types.js';

export type ResponseEncoding = 'json' | 'xml' | 'text';

/** How an integration reads its answers: a SOAP one's are XML. */
export function responseEncodingOf(integration: Integration): ResponseEncoding | undefined {
  if (integration.type === 'soap') return 'xml';
  const encoding = integration.config.responseEncoding;
  return encoding === 'json' || encoding === 'xml' || encoding === 'text' ? encoding : undefined;
}

const JSON_SPACE = new Set([' ', '\t', '\n', '\r']);

/** `text` (valid JSON) with each value on its own line; its tokens as they are. */
function indentJson(text: string): string {
  let out = '';
  let depth = 0;
  const newline = () => `\n${'  '.repeat(depth)}`;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (JSON_SPACE.has(c)) {
      i += 1;
    } else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      out += text.slice(i, end + 1);
      i = end + 1;
    } else if (c === '{' || c === '[') {
      let next = i + 1;
      while (JSON_SPACE.has(text[next] ?? '')) next += 1;
      if (text[next] === (c === '{' ? '}' : ']')) {
        out += `${c}${text[next]}`;
        i = next + 1;
      } else {
        depth += 1;
        out += c + newline();
        i += 1;
      }
    } else if (c === '}' || c === ']') {
      depth -= 1;
      out += newline() + c;
      i += 1;
    } else if (c === ',') {
      out += `,${newline()}`;
      i += 1;
    } else if (c === ':') {
      out += ': ';
      i += 1;
    } else {
      // A number, true, false or null: up to the next structural character or space.
      let end = i;
      while (end < text.length && !/[\s,:\]}]/.test(text[end]!)) end += 1;
      out += text.slice(i, end);
      i = end;
    }
  }
  return out;
}

type XmlToken =
  | { kind: 'open'; name: string; text: string }
  | { kind: 'close'; name: string; text: string }
  | { kind: 'empty' | 'other' | 'text'; text: string };

/** Where the quote-aware scan from `from` finds `>`, or -1. */
function tagEnd(text: string, from: number): number {
  let quote: string | null = null;
  for (let i = from; i < text.length; i += 1) {
    const c = text[i];
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i;
  }
  return -1;
}

/** The DOCTYPE's end, past an internal subset in brackets; -1 when it has none. */
function doctypeEnd(text: string, from: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = from; i < text.length; i += 1) {
    const c = text[i];
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth += 1;
    else if (c === ']') depth -= 1;
    else if (c === '>' && depth === 0) return i;
  }
  return -1;
}

/** The tokens of `text`, or undefined when it is not XML (unclosed, unbalanced, misnested). */
function xmlTokens(text: string): XmlToken[] | undefined {
  const tokens: XmlToken[] = [];
  const open: string[] = [];
  let elements = 0;
  let i = 0;
  const until = (marker: string, kind: 'other' | 'text') => {
    const end = text.indexOf(marker, i);
    if (end < 0) return false;
    tokens.push({ kind, text: text.slice(i, end + marker.length) });
    i = end + marker.length;
    return true;
  };
  while (i < text.length) {
    if (text[i] !== '<') {
      const next = text.indexOf('<', i);
      const end = next < 0 ? text.length : next;
      const part = text.slice(i, end);
      // Text outside the root element: not XML.
      if (open.length === 0 && part.trim() !== '') return undefined;
      tokens.push({ kind: 'text', text: part });
      i = end;
    } else if (text.startsWith('<!--', i)) {
      if (!until('-->', 'other')) return undefined;
    } else if (text.startsWith('<![CDATA[', i)) {
      if (open.length === 0 || !until(']]>', 'text')) return undefined;
    } else if (text.startsWith('<?', i)) {
      if (!until('?>', 'other')) return undefined;
    } else if (text.startsWith('<!', i)) {
      const end = doctypeEnd(text, i + 2);
      if (end < 0 || open.length > 0) return undefined;
      tokens.push({ kind: 'other', text: text.slice(i, end + 1) });
      i = end + 1;
    } else {
      const end = tagEnd(text, i + 1);
      if (end < 0) return undefined;
      const tag = text.slice(i, end + 1);
      const closing = tag.startsWith('</');
      const name = /^<\/?([^\s/>]+)/.exec(tag)?.[1];
      if (name === undefined) return undefined;
      if (closing) {
        if (open.pop() !== name) return undefined;
        tokens.push({ kind: 'close', name, text: tag });
      } else {
        if (open.length === 0) elements += 1;
        if (tag.endsWith('/>')) tokens.push({ kind: 'empty', text: tag });
        else {
          open.push(name);
          tokens.push({ kind: 'open', name, text: tag });
        }
      }
      i = end + 1;
    }
  }
  return open.length === 0 && elements === 1 ? tokens : undefined;
}

/** `text` (XML) with each element on its own line, one holding only text on one line. */
function indentXml(text: string): string | undefined {
  const tokens = xmlTokens(text);
  if (tokens === undefined) return undefined;
  const lines: string[] = [];
  let depth = 0;
  const line = (content: string) => lines.push('  '.repeat(depth) + content);
  for (let k = 0; k < tokens.length; k += 1) {
    const token = tokens[k]!;
    if (token.kind === 'open') {
      // An element that holds text only (or nothing) stays on one line, its text as it came.
      let next = k + 1;
      while (tokens[next]?.kind === 'text') next += 1;
      const after = tokens[next];
      if (after?.kind === 'close') {
        line(
          tokens
            .slice(k, next + 1)
            .map((t) => t.text)
            .join(''),
        );
        k = next;
      } else {
        line(token.text);
        depth += 1;
      }
    } else if (token.kind === 'close') {
      depth -= 1;
      line(token.text);
    } else if (token.kind === 'text') {
      // Beside elements: text that is not only the space between them keeps a line.
      if (token.text.trim() !== '') line(token.text.trim());
    } else {
      line(token.text);
    }
  }
  return lines.join('\n');
}

/** The body laid out as `encoding` reads it; undefined when it does not read so. */
export function formatBody(
  body: string,
  encoding: ResponseEncoding | undefined,
): string | undefined {
  if (encoding === 'json') {
    try {
      JSON.parse(body);
    } catch {
      return undefined;
    }
    return indentJson(body);
  }
  if (encoding === 'xml') return indentXml(body);
  return encoding === 'text' ? body : undefined;
}

const NAMES: Record<ResponseEncoding, string> = { json: 'JSON', xml: 'XML', text: 'text' };

/**
 * A response body as its integration reads it, `…(cut)` after a body longer than what was kept;
 * a body that is not what its encoding says is shown as it came, and said so.
 */
export function responseBody(
  body: string,
  encoding: ResponseEncoding | undefined,
  truncated: boolean,
  attrs: Attrs = {},
): HTMLElement[] {
  const laid = truncated ? undefined : formatBody(body, encoding);
  const notIt =
    laid === undefined && !truncated && body.trim() !== '' && encoding !== undefined
      ? h(
          'p',
          { class: 'muted body-note' },
          `Not ${NAMES[encoding]}, the integration's response encoding: shown as it came.`,
        )
      : null;
  const shown = pre((laid ?? body) + (truncated ? '\n…(cut)' : ''), attrs);
  return notIt === null ? [shown] : [notIt, shown];
}
