/**
 * The template grammar, parsed into parts with source offsets. Nothing here knows tokens or
 * filters by name; compile.ts checks those against the catalog.
 *
 *   template   := (text | '{{' expression '}}')*
 *   expression := subject ('|' filter)*
 *   subject    := path | string | number          (a literal subject prints itself: {{"{{"}})
 *   path       := ident ('.' name | '[' string ']')*
 *   filter     := ident (':' arg (',' arg)*)?
 *   arg        := string | number                 (strings in "…" or '…', with \\ \" \' \n \t)
 */

export interface Literal {
  value: string | number;
  offset: number;
}

export interface FilterCall {
  name: string;
  offset: number;
  args: Literal[];
}

export type Subject =
  | { kind: 'path'; path: string[]; text: string; offset: number }
  | { kind: 'literal'; value: string | number; offset: number };

export type Part =
  | { kind: 'text'; text: string; offset: number }
  | { kind: 'expr'; subject: Subject; filters: FilterCall[]; offset: number; end: number };

export interface SyntaxProblem {
  offset: number;
  message: string;
}

class ExpressionError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** Splits a template into text and expressions; every syntax problem is reported, in order. */
export function parseTemplate(source: string): { parts: Part[]; problems: SyntaxProblem[] } {
  const parts: Part[] = [];
  const problems: SyntaxProblem[] = [];
  let cursor = 0;
  while (cursor < source.length) {
    const open = source.indexOf('{{', cursor);
    if (open < 0) {
      parts.push({ kind: 'text', text: source.slice(cursor), offset: cursor });
      break;
    }
    if (open > cursor)
      parts.push({ kind: 'text', text: source.slice(cursor, open), offset: cursor });
    const close = findClose(source, open + 2);
    if (close < 0) {
      problems.push({ offset: open, message: 'unterminated `{{`: no matching `}}`' });
      break;
    }
    try {
      const parsed = new ExpressionParser(source, open + 2, close).parse();
      parts.push({ kind: 'expr', ...parsed, offset: open, end: close + 2 });
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      problems.push({ offset: error.offset, message: error.message });
    }
    cursor = close + 2;
  }
  return { parts, problems };
}

/** Offset of the `}}` closing an expression that starts at `from`, skipping quoted strings. */
function findClose(source: string, from: number): number {
  let i = from;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '}' && source[i + 1] === '}') return i;
    if (ch === '"' || ch === "'") {
      const end = stringEnd(source, i);
      // An unclosed quote: end at the next `}}` and let the parser report the string.
      if (end < 0) return source.indexOf('}}', i + 1);
      i = end + 1;
      continue;
    }
    i += 1;
  }
  return -1;
}

/** Offset of the quote closing the string opened at `start`, or -1. */
function stringEnd(source: string, start: number, limit = source.length): number {
  const quote = source[start];
  for (let i = start + 1; i < limit; i += 1) {
    if (source[i] === '\\') i += 1;
    else if (source[i] === quote) return i;
  }
  return -1;
}

const IDENT_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_-]/;
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t' };

class ExpressionParser {
  private i: number;

  constructor(
    private readonly source: string,
    private readonly start: number,
    private readonly end: number,
  ) {
    this.i = start;
  }

  parse(): { subject: Subject; filters: FilterCall[] } {
    this.skipSpace();
    if (this.i >= this.end)
      throw new ExpressionError(this.start - 2, 'empty `{{ }}`: name a token');
    const subject = this.subject();
    const filters: FilterCall[] = [];
    this.skipSpace();
    while (this.i < this.end) {
      if (this.source[this.i] !== '|') {
        throw new ExpressionError(this.i, `expected \`|\` or \`}}\`, found ${this.describe()}`);
      }
      this.i += 1;
      this.skipSpace();
      filters.push(this.filter());
      this.skipSpace();
    }
    return { subject, filters };
  }

  private subject(): Subject {
    const ch = this.source[this.i] ?? '';
    if (ch === '"' || ch === "'" || /[-0-9]/.test(ch)) {
      const literal = this.literal();
      return { kind: 'literal', ...literal };
    }
    const offset = this.i;
    const path = [this.ident('a token name such as `contact.phone`')];
    for (;;) {
      const next = this.source[this.i];
      if (next === '.') {
        this.i += 1;
        path.push(this.name());
      } else if (next === '[') {
        this.i += 1;
        this.skipSpace();
        const key = this.literal();
        if (typeof key.value !== 'string') {
          throw new ExpressionError(key.offset, 'expected a quoted name inside `[ ]`');
        }
        this.skipSpace();
        if (this.source[this.i] !== ']') {
          throw new ExpressionError(this.i, `expected \`]\`, found ${this.describe()}`);
        }
        this.i += 1;
        path.push(key.value);
      } else {
        break;
      }
    }
    return { kind: 'path', path, text: this.source.slice(offset, this.i), offset };
  }

  private filter(): FilterCall {
    const offset = this.i;
    const name = this.ident('a filter name after `|`');
    const args: Literal[] = [];
    this.skipSpace();
    if (this.source[this.i] === ':') {
      this.i += 1;
      for (;;) {
        this.skipSpace();
        args.push(this.literal());
        this.skipSpace();
        if (this.source[this.i] !== ',') break;
        this.i += 1;
      }
    }
    return { name, offset, args };
  }

  private ident(what: string): string {
    const start = this.i;
    if (!IDENT_START.test(this.source[this.i] ?? '')) {
      throw new ExpressionError(this.i, `expected ${what}, found ${this.describe()}`);
    }
    while (this.i < this.end && /[A-Za-z0-9_]/.test(this.source[this.i] ?? '')) this.i += 1;
    return this.source.slice(start, this.i);
  }

  private name(): string {
    const start = this.i;
    while (this.i < this.end && NAME_CHAR.test(this.source[this.i] ?? '')) this.i += 1;
    if (this.i === start) {
      throw new ExpressionError(this.i, `expected a name after \`.\`, found ${this.describe()}`);
    }
    return this.source.slice(start, this.i);
  }

  private literal(): Literal {
    const offset = this.i;
    const ch = this.source[this.i] ?? '';
    if (ch === '"' || ch === "'") {
      const close = stringEnd(this.source, this.i, this.end);
      if (close < 0) throw new ExpressionError(offset, 'unterminated string');
      let value = '';
      for (let i = this.i + 1; i < close; i += 1) {
        const c = this.source[i] ?? '';
        if (c !== '\\') {
          value += c;
          continue;
        }
        const escaped = ESCAPES[this.source[i + 1] ?? ''];
        if (escaped === undefined) {
          throw new ExpressionError(i, 'unknown escape: use \\\\ \\" \\\' \\n or \\t');
        }
        value += escaped;
        i += 1;
      }
      this.i = close + 1;
      return { value, offset };
    }
    const match = /^-?\d+(\.\d+)?/.exec(this.source.slice(this.i, this.end));
    if (match === null) {
      throw new ExpressionError(
        this.i,
        `expected a quoted string or a number, found ${this.describe()}`,
      );
    }
    this.i += match[0].length;
    return { value: Number(match[0]), offset };
  }

  private skipSpace(): void {
    while (this.i < this.end && /\s/.test(this.source[this.i] ?? '')) this.i += 1;
  }

  private describe(): string {
    if (this.i >= this.end) return '`}}`';
    const ch = this.source[this.i] ?? '';
    return JSON.stringify(ch);
  }
}
