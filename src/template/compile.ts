/**
 * `compileTemplate()`: parse a template once, check every token and filter against the catalog,
 * decide each token's escaping from its context and place, and return either every problem at
 * once or a template whose `render()` is a loop of lookups, filters and concatenation.
 */
import { findToken, TOKENS } from '../domain/tokens.js';
import { describeControl, HEADER_FORBIDDEN, headerWireValue } from './escapers.js';
import { FILTERS, type CompileFilterOptions, type FilterFn, type OutputKind } from './filters.js';
import { pathGetter, systemValues, type Getter, type RenderScope } from './scope.js';
import { parseTemplate, type Part, type Subject } from './syntax.js';
import { checkBodyShape, emitter, placementsFor } from './placements.js';
import {
  addressNotWritten,
  AUTHORITY_VALUE,
  authorityTokens,
  checkUrlStart,
  DOT_SEGMENT,
  hasDotSegment,
  isCanonicalUrl,
} from './url-checks.js';
import {
  arity,
  positioner,
  sortProblems,
  suggest,
  type Positioner,
  type TemplateProblem,
} from './problems.js';

/** Where a template's output lands; each has its own escaping (docs/templating.md). */
export const TEMPLATE_CONTEXTS = ['url', 'json', 'xml', 'form', 'text', 'header', 'soap'] as const;
export type TemplateContext = (typeof TEMPLATE_CONTEXTS)[number];

export type { TemplateProblem } from './problems.js';

export interface RenderError {
  field: string;
  /** The line in the field's text (a header's line), when the failure belongs to one. */
  line?: number;
  message: string;
}

export type RenderResult = { ok: true; value: string } | { ok: false; error: RenderError };

export interface CompileOptions extends ShapeOption {
  /** Named in every problem and render error, e.g. `config.url`. */
  field: string;
  /** Where the template starts inside the field's text (1-based); a header value starts mid-line. */
  line?: number;
  column?: number;
  /**
   * A multipart body's boundary (from its Content-Type): a value cannot be escaped there, so a
   * render in which a value writes `--<boundary>` (a new part) fails instead.
   */
  multipartBoundary?: string;
  /**
   * A `Host` header value: each token's render is held to what a token in a URL's host part may
   * render (AUTHORITY_VALUE), so the data cannot choose the virtual host either.
   */
  hostHeader?: boolean;
}

export interface ShapeOption extends CompileFilterOptions {
  /**
   * Whether a JSON or XML body's shape is judged (default true). Off when a stored integration is
   * run: its body passed the checks of the version that saved it, and a check added since (an
   * upgrade) judges new saves only, never stopping the deliveries of what was accepted.
   */
  judgeShape?: boolean;
}

export interface CompiledTemplate {
  readonly source: string;
  readonly context: TemplateContext;
  /** The token paths used, e.g. `contact.phone`, in order of first use. */
  readonly tokens: readonly string[];
  render(scope: RenderScope): RenderResult;
}

export type CompileResult =
  { ok: true; template: CompiledTemplate } | { ok: false; problems: TemplateProblem[] };

interface Piece {
  get: Getter;
  filters: FilterFn[];
  emit: (value: unknown) => string;
  /** `{{ … }}` as written, for render errors. */
  text: string;
  /** In a URL's host part or a `Host` header: each render's value is checked (AUTHORITY_VALUE). */
  authority: boolean;
  /** Emitted as is (`raw`): not held to the multipart boundary either. */
  raw: boolean;
}

/**
 * Compiles `source` for `context`.
 *
 * ### Example
 * ```ts
 * const result = compileTemplate('{"name": "{{contact.firstName}}"}', 'json', { field: 'config.body' });
 * if (result.ok) result.template.render(scope); // {ok: true, value: '{"name": "Ana \\"A\\""}'}
 * else result.problems; // [{field, line, column, message}, …]
 * ```
 */
export function compileTemplate(
  source: string,
  context: TemplateContext,
  options: CompileOptions,
): CompileResult {
  const { parts, problems: syntax } = parseTemplate(source);
  const at = positioner(source, options);
  const problems: TemplateProblem[] = syntax.map((p) => at(p.offset, p.message));
  const exprs = parts.filter((p): p is Extract<Part, { kind: 'expr' }> => p.kind === 'expr');

  const placements = placementsFor(context, parts, exprs, at, problems);
  const authority =
    context === 'url'
      ? authorityTokens(parts)
      : new Set<Part>(context === 'header' && options.hostHeader === true ? exprs : []);
  const misplaced = problems.length > syntax.length;
  const pieces: Piece[] = [];
  const tokens: string[] = [];
  let usesSystem = false;
  let hasRaw = false;
  exprs.forEach((expr, index) => {
    const get = subjectGetter(expr.subject, at, problems);
    if (expr.subject.kind === 'path') {
      const name = expr.subject.path.join('.');
      if (!tokens.includes(name)) tokens.push(name);
      usesSystem ||= expr.subject.path[0] === 'system';
    }
    const filters: FilterFn[] = [];
    let output: OutputKind = 'value';
    expr.filters.forEach((call, position) => {
      const spec = FILTERS.get(call.name);
      if (spec === undefined) {
        problems.push(
          at(
            call.offset,
            `unknown filter "${call.name}"${suggest(call.name, [...FILTERS.keys()])}`,
          ),
        );
        return;
      }
      const last = position === expr.filters.length - 1;
      if (spec.output === 'raw') {
        hasRaw = true;
        if (!last) problems.push(at(call.offset, '`raw` must be the last filter'));
        if (context === 'header') {
          problems.push(
            at(
              call.offset,
              '`raw` is not allowed in header values: a header is never sent unchecked',
            ),
          );
        }
      }
      if (call.args.length < spec.minArgs || call.args.length > spec.maxArgs) {
        problems.push(
          at(
            call.offset,
            `\`${spec.name}\` takes ${arity(spec.minArgs, spec.maxArgs)}${spec.args === '' ? '' : `: ${spec.name}:${spec.args}`}`,
          ),
        );
        return;
      }
      const compiled = spec.compile(
        call.args.map((a) => a.value),
        options,
      );
      if (typeof compiled !== 'function') {
        const arg = call.args[compiled.argIndex];
        problems.push(at(arg?.offset ?? call.offset, `\`${spec.name}\`: ${compiled.message}`));
        return;
      }
      filters.push(compiled);
      if (last) output = spec.output;
    });
    const placement = placements[index];
    if (placement === undefined) return;
    pieces.push({
      get,
      filters,
      emit: emitter(placement, output),
      text: source.slice(expr.offset, expr.end),
      authority: authority.has(expr),
      raw: FILTERS.get(expr.filters.at(-1)?.name ?? '')?.output === 'raw',
    });
  });

  if (context === 'url') checkUrlStart(parts, at, problems);
  if (syntax.length === 0 && !misplaced && !hasRaw && options.judgeShape !== false) {
    checkBodyShape(source, context, parts, placements, at, problems);
  }
  if (problems.length > 0) return { ok: false, problems: sortProblems(problems) };

  const sequence: (string | Piece)[] = [];
  let next = 0;
  for (const part of parts) {
    if (part.kind === 'text') sequence.push(part.text);
    else sequence.push(pieces[next++] as Piece);
  }
  return {
    ok: true,
    template: new Template(source, context, tokens, sequence, usesSystem, options, {
      canonical: context === 'url' && !hasRaw && isCanonicalUrl(parts),
      authority: context === 'url' && authority.size > 0,
    }),
  };
}

class Template implements CompiledTemplate {
  constructor(
    readonly source: string,
    readonly context: TemplateContext,
    readonly tokens: readonly string[],
    private readonly sequence: readonly (string | Piece)[],
    private readonly usesSystem: boolean,
    private readonly options: CompileOptions,
    /** `authority`: a token stands in the host part (authorityTokens). */
    private readonly url_: { canonical: boolean; authority: boolean },
  ) {}

  render(scope: RenderScope): RenderResult {
    if (this.usesSystem && scope.system === undefined) {
      scope = { ...scope, system: systemValues(Date.now()) };
    }
    const boundary = this.options.multipartBoundary;
    const spans: [start: number, end: number, piece: Piece][] | undefined =
      boundary === undefined ? undefined : [];
    let out = '';
    for (const item of this.sequence) {
      if (typeof item === 'string') {
        out += item;
        continue;
      }
      let value = item.get(scope);
      for (const filter of item.filters) value = filter(value);
      const text = item.emit(value);
      if (item.authority && !AUTHORITY_VALUE.test(text)) return this.hostFail(item, text);
      if (spans !== undefined && !item.raw && text !== '') {
        spans.push([out.length, out.length + text.length, item]);
      }
      out += text;
    }
    if (this.context === 'header') return this.header(out, scope);
    if (this.context === 'url') return this.url(out);
    if (spans !== undefined && spans.length > 0) {
      const culprit = boundaryWrittenBy(out, `--${boundary}`, spans);
      if (culprit !== undefined) {
        return this.fail(
          `${culprit.text} would write the multipart boundary ${JSON.stringify(`--${boundary}`)}, which starts a new part: the request is not sent`,
        );
      }
    }
    return { ok: true, value: out };
  }

  private fail(message: string): RenderResult {
    const error: RenderError = { field: this.options.field, message };
    if (this.options.line !== undefined) error.line = this.options.line;
    return { ok: false, error };
  }

  private hostFail(piece: Piece, text: string): RenderResult {
    const shown = JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
    if (this.context === 'header') {
      return this.fail(
        `${piece.text} renders ${shown} into the Host header, where only letters, digits and \`-\` can go (a \`.\` or \`:\` would name another host: the remote would answer as that virtual host; for a host the data chooses, start the URL with a token holding the whole base URL)`,
      );
    }
    return this.fail(
      `${piece.text} renders ${shown} into the URL's host part, where only letters, digits and \`-\` can go (a \`.\` or \`@\` could send the request to another host; for a host the data chooses, start the URL with a token holding the whole base URL)`,
    );
  }

  private header(out: string, scope: RenderScope): RenderResult {
    const bad = HEADER_FORBIDDEN.exec(out);
    if (bad !== null) {
      const culprit = this.sequence.find(
        (item): item is Piece =>
          typeof item !== 'string' && HEADER_FORBIDDEN.test(renderPiece(item, scope)),
      );
      return this.fail(
        `the value would contain ${describeControl(bad[0])}${culprit === undefined ? '' : ` from ${culprit.text}`}; a header value cannot carry it, so the request is not sent`,
      );
    }
    return { ok: true, value: headerWireValue(out.replace(/^[ \t]+|[ \t]+$/g, '')) };
  }

  private url(out: string): RenderResult {
    if (this.url_.canonical) {
      // Literal scheme and authority, escaped tokens: `out` is already its own href.
      if (hasDotSegment(out)) return this.fail(DOT_SEGMENT);
      return { ok: true, value: out };
    }
    let url: URL;
    try {
      url = new URL(out);
    } catch {
      return this.fail(
        `renders "${out.slice(0, 200)}", which is not an absolute URL${this.baseHint()}`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return this.fail(
        `renders a ${url.protocol} URL; only http: and https: are sent${this.baseHint()}`,
      );
    }
    if (hasDotSegment(out)) return this.fail(DOT_SEGMENT);
    const written = this.url_.authority ? addressNotWritten(out, url) : undefined;
    if (written !== undefined) {
      return this.fail(
        `renders the host "${written.slice(0, 100)}", which the URL parser reads as the address ${url.hostname}: a token in the host part cannot choose an address (write the address out, or start the URL with a token holding the whole base URL)`,
      );
    }
    return { ok: true, value: url.href };
  }

  private baseHint(): string {
    const first = this.sequence[0];
    return first !== undefined && typeof first !== 'string'
      ? ` (its leading token ${first.text} must hold an absolute http(s) URL)`
      : '';
  }
}

/**
 * The piece whose output is part of an occurrence of `delimiter` in `out`, alone or with the text
 * beside it (`spans`: where each piece's output lies in `out`); undefined when every occurrence is
 * the template's own text.
 */
function boundaryWrittenBy(
  out: string,
  delimiter: string,
  spans: readonly [start: number, end: number, piece: Piece][],
): Piece | undefined {
  for (let at = out.indexOf(delimiter); at >= 0; at = out.indexOf(delimiter, at + 1)) {
    const end = at + delimiter.length;
    const span = spans.find(([start, stop]) => start < end && stop > at);
    if (span !== undefined) return span[2];
  }
  return undefined;
}

function renderPiece(piece: Piece, scope: RenderScope): string {
  let value = piece.get(scope);
  for (const filter of piece.filters) value = filter(value);
  return piece.emit(value);
}

function subjectGetter(subject: Subject, at: Positioner, problems: TemplateProblem[]): Getter {
  if (subject.kind === 'literal') {
    const value = subject.value;
    return () => value;
  }
  if (findToken(subject.path) === undefined) {
    const name = subject.path.join('.');
    const group = TOKENS.find((t) => t.wildcard && t.token === `${name}.<name>`);
    const candidates = TOKENS.map((t) => t.token.replace('.<name>', ''));
    problems.push(
      at(
        subject.offset,
        group === undefined
          ? `unknown token "${subject.text}"${suggest(name, candidates)}`
          : `"${subject.text}" is a group, not a value: name one of its values, as in {{${group.token}}}`,
      ),
    );
  }
  return pathGetter(subject.path);
}
