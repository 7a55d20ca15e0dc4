/**
 * What follows an XML document's root element. XML 1.0 (`document ::= prolog element Misc*`)
 * allows only white space, comments and processing instructions there. fast-xml-parser's
 * validator lets more through — text after an empty-element root (`<r/>x`), a second root that
 * is an empty-element tag (`<r></r><s/>`), CDATA, entity references, a doctype, an XML
 * declaration, a comment or processing instruction never closed — and its parser ignores it.
 */

/** Where the problem starts (an offset into the document) and what it is. */
export interface AfterRootProblem {
  offset: number;
  message: string;
}

/**
 * The first thing after the root element that XML does not allow there, or undefined. For a
 * document the validator accepted: its elements nest properly, so the root's end is found by
 * counting start and end tags.
 *
 * ### Examples
 * ```ts
 * afterRootProblem('<r/>\n<!-- done -->\n'); // → undefined
 * afterRootProblem('<r/>x');
 * // → { offset: 4, message: "Text after the root element 'r': only white space, comments and processing instructions may follow it." }
 * ```
 */
export function afterRootProblem(text: string): AfterRootProblem | undefined {
  const root = rootElement(text);
  if (root === undefined) return undefined;
  const after = (what: string) =>
    `${what} after the root element '${root.name}': only white space, comments and processing instructions may follow it.`;
  let at = root.end;
  for (;;) {
    const next = firstNonSpace(text, at);
    if (next === text.length) return undefined;
    if (text[next] !== '<') return { offset: next, message: after('Text') };
    if (text.startsWith('<!--', next)) {
      const close = text.indexOf('-->', next + 4);
      if (close === -1) return { offset: next, message: notClosed('comment', root.name) };
      at = close + 3;
    } else if (text.startsWith('<?', next)) {
      if (XML_DECLARATION.test(text.slice(next, next + 6))) {
        return {
          offset: next,
          message: `An XML declaration after the root element '${root.name}': it may only start the document.`,
        };
      }
      const close = text.indexOf('?>', next + 2);
      if (close === -1) {
        return { offset: next, message: notClosed('processing instruction', root.name) };
      }
      at = close + 2;
    } else if (text.startsWith('<![CDATA[', next)) {
      return { offset: next, message: after('A CDATA section') };
    } else if (text.startsWith('<!', next)) {
      return { offset: next, message: after('A declaration') };
    } else {
      const name = NAME.exec(text.slice(next + 1, next + 200))?.[0] ?? '';
      return { offset: next, message: after(`A second root element '${name}'`) };
    }
  }
}

/**
 * The first comment or processing instruction anywhere in a document that XML does not allow and
 * the validator lets through: `--` inside a comment, a comment ending `--->` included (XML 1.0
 * §2.5), and a processing instruction without a target name (`<??>`, §2.6). Undefined when there is none; a
 * comment or instruction never closed is left to the other checks.
 *
 * ### Examples
 * ```ts
 * markupProblem('<r><!-- a - b --></r>'); // → undefined
 * markupProblem('<r><!-- a -- b --></r>');
 * // → { offset: 10, message: "'--' inside a comment: XML allows it only to close the comment." }
 * ```
 */
export function markupProblem(text: string): AfterRootProblem | undefined {
  let at = 0;
  for (;;) {
    const open = text.indexOf('<', at);
    if (open === -1) return undefined;
    if (text.startsWith('<!--', open)) {
      const close = text.indexOf('-->', open + 4);
      if (close === -1) return undefined;
      const dashes = text.indexOf('--', open + 4);
      if (dashes < close) {
        return {
          offset: dashes,
          message: "'--' inside a comment: XML allows it only to close the comment.",
        };
      }
      at = close + 3;
    } else if (text.startsWith('<?', open)) {
      if (!PI_TARGET.test(text.slice(open + 2, open + 3))) {
        return {
          offset: open,
          message: "A processing instruction needs a target name right after '<?'.",
        };
      }
      at = pastMarkup(text, open);
    } else if (text.charCodeAt(open + 1) === BANG) {
      at = pastMarkup(text, open);
    } else {
      at = tagEnd(text, open);
    }
    if (at === -1) return undefined;
  }
}

/** A name's first character: not white space, `?`, `>` or anything XML names cannot start with. */
const PI_TARGET = /^[A-Za-z_:\u00C0-\uFFFF]/;

/** `<?xml` as a whole target, in any case: the declaration, reserved for the document's start. */
const XML_DECLARATION = /^<\?xml(?=[\s?]|$)/i;
const NAME = /^[^\s/>]*/;

const notClosed = (what: string, root: string) =>
  `The ${what} after the root element '${root}' is not closed: the document ends inside it.`;

/** XML white space is space, tab, CR and LF only (a no-break space is text). */
function firstNonSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && ' \t\r\n'.includes(text[i] as string)) i += 1;
  return i;
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;

/** Markup that ends at its own closer, whatever it holds. */
const CLOSED_MARKUP: readonly (readonly [string, string])[] = [
  ['<!--', '-->'],
  ['<![CDATA[', ']]>'],
  ['<?', '?>'],
];

/** The root element's name and the offset just past its end; undefined when there is none. */
function rootElement(text: string): { name: string; end: number } | undefined {
  let depth = 0;
  let name = '';
  let at = 0;
  for (;;) {
    const open = text.indexOf('<', at);
    if (open === -1) return undefined;
    const kind = text.charCodeAt(open + 1);
    if (kind === BANG || kind === QUESTION) {
      at = pastMarkup(text, open);
      if (at === -1) return undefined;
      continue;
    }
    const close = tagEnd(text, open);
    if (close === -1) return undefined;
    at = close + 1;
    if (kind === SLASH) {
      depth -= 1;
    } else {
      if (depth === 0) name = NAME.exec(text.slice(open + 1, open + 200))?.[0] ?? '';
      if (text.charCodeAt(close - 1) !== SLASH) depth += 1;
    }
    if (depth === 0) return { name, end: at };
  }
}

/**
 * Past the comment, CDATA section, processing instruction or declaration starting at `open`; -1
 * when it is not closed. A doctype's internal subset nests declarations in `[…]`: its `<` and `>`
 * are counted.
 */
function pastMarkup(text: string, open: number): number {
  for (const [opener, closer] of CLOSED_MARKUP) {
    if (!text.startsWith(opener, open)) continue;
    const close = text.indexOf(closer, open + opener.length);
    return close === -1 ? -1 : close + closer.length;
  }
  let depth = 0;
  for (let i = open; i < text.length; i += 1) {
    const ch = text.charCodeAt(i);
    if (ch === LT) depth += 1;
    else if (ch === GT) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** The `>` ending the tag that starts at `open`, outside quoted attribute values; -1 if none. */
function tagEnd(text: string, open: number): number {
  let quote = 0;
  for (let i = open + 1; i < text.length; i += 1) {
    const ch = text.charCodeAt(i);
    if (quote !== 0) {
      if (ch === quote) quote = 0;
    } else if (ch === DOUBLE_QUOTE || ch === SINGLE_QUOTE) quote = ch;
    else if (ch === GT) return i;
  }
  return -1;
}
