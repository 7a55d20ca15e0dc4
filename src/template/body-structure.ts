/**
 * Where a token stands in a JSON or XML body decides its escaping: inside a JSON string or
 * outside, in XML text, an attribute value or a CDATA section. Decided once, at compile time,
 * by following the template's literal text; the body's shape is then checked with every token
 * replaced by a stand-in of the same length, so a parse error's offset is the template's own.
 */
import { XMLValidator } from 'fast-xml-parser';
import type { Part } from './syntax.js';
import { afterRootProblem, markupProblem } from './xml-root.js';

export type JsonPlacement = 'string' | 'value';
export type XmlPlacement = 'text' | 'cdata' | { problem: string };

/** For each expression part, in order: inside a JSON string or where a JSON value goes. */
export function jsonPlacements(parts: readonly Part[]): JsonPlacement[] {
  const out: JsonPlacement[] = [];
  let inString = false;
  let escaped = false;
  for (const part of parts) {
    if (part.kind === 'expr') {
      out.push(inString ? 'string' : 'value');
      escaped = false;
      continue;
    }
    for (const ch of part.text) {
      if (escaped) escaped = false;
      else if (inString && ch === '\\') escaped = true;
      else if (ch === '"') inString = !inString;
    }
  }
  return out;
}

type XmlState = 'content' | 'tag' | 'attr' | 'comment' | 'cdata' | 'pi' | 'decl';

const OPENERS: [string, XmlState][] = [
  ['<!--', 'comment'],
  ['<![CDATA[', 'cdata'],
  ['<?', 'pi'],
  ['<!', 'decl'],
  ['<', 'tag'],
];
const CLOSERS: Partial<Record<XmlState, string>> = {
  comment: '-->',
  cdata: ']]>',
  pi: '?>',
  decl: '>',
};
const XML_STATE_NAMES: Partial<Record<XmlState, string>> = {
  tag: "a tag's name or attribute list (put it in an attribute value or in element text)",
  comment: 'an XML comment',
  pi: 'a processing instruction',
  decl: 'a declaration',
};

/** Where an XML scan stands: its state, the quote of an attribute value, where the tag began. */
interface XmlScan {
  state: XmlState;
  quote: string;
  tagStart: number;
}

/**
 * Moves `scan` over `text`, which starts at `offset` in the whole document: just enough of XML to
 * tell content, tags, attribute values, comments, CDATA, processing instructions and declarations
 * apart.
 */
function scanXml(scan: XmlScan, text: string, offset: number): void {
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    if (scan.state === 'content') {
      const opener = ch === '<' ? OPENERS.find(([o]) => text.startsWith(o, i)) : undefined;
      if (opener !== undefined) {
        scan.state = opener[1];
        scan.tagStart = offset + i;
        i += opener[0].length;
        continue;
      }
    } else if (scan.state === 'tag') {
      if (ch === '"' || ch === "'") {
        scan.state = 'attr';
        scan.quote = ch;
      } else if (ch === '>') scan.state = 'content';
    } else if (scan.state === 'attr') {
      if (ch === scan.quote) scan.state = 'tag';
    } else {
      const closer = CLOSERS[scan.state] ?? '>';
      if (text.startsWith(closer, i)) {
        scan.state = 'content';
        i += closer.length;
        continue;
      }
    }
    i += 1;
  }
}

/** For each expression part: XML text (element content or attribute value), CDATA, or refused. */
export function xmlPlacements(parts: readonly Part[]): XmlPlacement[] {
  const out: XmlPlacement[] = [];
  const scan: XmlScan = { state: 'content', quote: '', tagStart: 0 };
  for (const part of parts) {
    if (part.kind === 'expr') {
      const { state } = scan;
      if (state === 'content' || state === 'attr') out.push('text');
      else if (state === 'cdata') out.push('cdata');
      else out.push({ problem: `a token cannot stand inside ${XML_STATE_NAMES[state] ?? state}` });
      continue;
    }
    scanXml(scan, part.text, part.offset);
  }
  return out;
}

/** The template with each expression replaced by `standIn(index, length)` (same length). */
export function skeleton(
  source: string,
  parts: readonly Part[],
  standIn: (index: number, length: number) => string,
): string {
  let out = '';
  let index = 0;
  for (const part of parts) {
    if (part.kind === 'text') out += part.text;
    else {
      out += standIn(index, part.end - part.offset);
      index += 1;
    }
  }
  return out.length === source.length ? out : out.padEnd(source.length);
}

/**
 * Whether a template, its tokens standing in (a JSON literal outside quotes, text inside), is a
 * JSON object or array, or an XML document; undefined for anything else, and for a template
 * without tokens (no value goes into it).
 */
export function structuredBody(source: string, parts: readonly Part[]): 'json' | 'xml' | undefined {
  if (!parts.some((p) => p.kind === 'expr')) return undefined;
  const placements = jsonPlacements(parts);
  const json = skeleton(source, parts, (i, length) =>
    placements[i] === 'value' ? 'null'.padEnd(length) : 'x'.repeat(length),
  );
  const start = json.trimStart()[0];
  if (start === '{' || start === '[')
    return jsonSyntaxError(json) === undefined ? 'json' : undefined;
  if (start !== '<') return undefined;
  const xml = skeleton(source, parts, (_i, length) => 'x'.repeat(length));
  return xmlSyntaxError(xml) === undefined ? 'xml' : undefined;
}

/** The first JSON syntax error in `text` (offset and message), or undefined when it is JSON. */
export function jsonSyntaxError(text: string): { offset: number; message: string } | undefined {
  let i = 0;
  const fail = (message: string): never => {
    throw new JsonShapeError(i, message);
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i += 1;
  };
  const found = () => (i >= text.length ? 'the end' : JSON.stringify(text[i]));
  const value = (depth: number): void => {
    if (depth > 512) fail('nested too deeply');
    space();
    const ch = text[i];
    if (ch === '{') {
      i += 1;
      space();
      if (text[i] === '}') {
        i += 1;
        return;
      }
      for (;;) {
        space();
        if (text[i] !== '"') fail(`expected a quoted property name, found ${found()}`);
        string();
        space();
        if (text[i] !== ':') fail(`expected \`:\` after the property name, found ${found()}`);
        i += 1;
        value(depth + 1);
        space();
        if (text[i] === ',') i += 1;
        else if (text[i] === '}') {
          i += 1;
          return;
        } else fail(`expected \`,\` or \`}\`, found ${found()}`);
      }
    } else if (ch === '[') {
      i += 1;
      space();
      if (text[i] === ']') {
        i += 1;
        return;
      }
      for (;;) {
        value(depth + 1);
        space();
        if (text[i] === ',') i += 1;
        else if (text[i] === ']') {
          i += 1;
          return;
        } else fail(`expected \`,\` or \`]\`, found ${found()}`);
      }
    } else if (ch === '"') {
      string();
    } else {
      const match = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(
        text.slice(i, i + 400),
      );
      if (match === null) fail(`expected a JSON value, found ${found()}`);
      i += (match as RegExpExecArray)[0].length;
    }
  };
  const string = () => {
    i += 1;
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === 0x22) {
        i += 1;
        return;
      }
      if (ch < 0x20) fail('a control character must be escaped inside a JSON string');
      if (ch === 0x5c) {
        const next = text[i + 1] ?? '';
        if (next === 'u') {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape');
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(next) || next === '') fail('unknown escape in a JSON string');
        i += 2;
        continue;
      }
      i += 1;
    }
    fail('unterminated JSON string');
  };
  try {
    value(0);
    space();
    if (i < text.length) fail(`unexpected ${found()} after the JSON value`);
    return undefined;
  } catch (error) {
    if (error instanceof JsonShapeError) return { offset: error.offset, message: error.message };
    throw error;
  }
}

class JsonShapeError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The first XML well-formedness error (1-based line and column in `text`, the message cut by
 * `briefly`), or undefined. The validator gives no column for a document without a root element
 * ("Start tag expected"), though its type says it does: such an error is placed at the line's
 * start. What it lets through is checked here: a last tag cut before its `>`, and anything after
 * the root element but white space, comments and processing instructions. With `strictMarkup`,
 * also `--` in a comment and a processing instruction without a target (`markupProblem`): a body
 * Callhook sends must pass the strictest parser, while a response or a WSDL need only be read, and
 * `<!-- ------ -->` dividers are common in hand-written ones.
 */
export function xmlSyntaxError(
  text: string,
  options: { strictMarkup?: boolean } = {},
): XmlSyntaxError | undefined {
  const result = XMLValidator.validate(text);
  if (result === true) {
    const unclosed = unclosedLastTag(text);
    if (unclosed !== undefined) return unclosed;
    const problem =
      (options.strictMarkup === true ? markupProblem(text) : undefined) ?? afterRootProblem(text);
    return problem === undefined
      ? undefined
      : errorAt(text, problem.offset, briefly(problem.message));
  }
  const { line, col, msg } = result.err as { line?: number; col?: number; msg: string };
  return { line: line ?? 1, column: col ?? 1, message: briefly(msg) };
}

export interface XmlSyntaxError {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 units. */
  column: number;
  message: string;
}

/** Line and column (1-based) of `offset` in `text`, with `message`. */
function errorAt(text: string, offset: number, message: string): XmlSyntaxError {
  const before = text.slice(0, offset);
  const line = (before.match(/\n/g)?.length ?? 0) + 1;
  return { line, column: offset - before.lastIndexOf('\n'), message };
}

/** Parser messages are cut to this many characters. */
const BRIEF_MESSAGE_LENGTH = 200;

/**
 * A parser's message, cut to a line's length: the XML validator quotes what it read (every
 * unclosed tag, a whole malformed tag), which for a 64 KiB body is a message larger than the
 * body, kept in a log, sent back in an answer or shown beside a template field.
 */
export function briefly(message: string): string {
  if (message.length <= BRIEF_MESSAGE_LENGTH) return message;
  // Not between the two halves of a UTF-16 pair.
  const end = /[\uD800-\uDBFF]/.test(message[BRIEF_MESSAGE_LENGTH - 1] ?? '')
    ? BRIEF_MESSAGE_LENGTH - 1
    : BRIEF_MESSAGE_LENGTH;
  return `${message.slice(0, end)}…`;
}

/**
 * The validator takes a tag that runs to the end of the document and ends with `/` (`<r/`,
 * `<a/><b x="1"/`) for a whole empty-element tag, though its `>` is missing; the parser then
 * refuses the document with "readTagExp returned undefined". Such a tag is placed and named here,
 * as the validator names the tags it finds unclosed.
 */
function unclosedLastTag(text: string): XmlSyntaxError | undefined {
  if (!text.endsWith('/')) return undefined;
  const scan: XmlScan = { state: 'content', quote: '', tagStart: 0 };
  scanXml(scan, text, 0);
  if (scan.state !== 'tag') return undefined;
  const name = /^<\/?([^\s/>]*)/.exec(text.slice(scan.tagStart))?.[1] ?? '';
  return errorAt(
    text,
    scan.tagStart,
    `Tag '${name}' is not closed: the document ends before its '>'.`,
  );
}
