/**
 * An HTTP integration's templates compiled together (SPEC §2.1): the URL in the `url` context,
 * each header value in the `header` context, and the body in the context its `Content-Type` line
 * names. Compiling reports every problem of every field at once; rendering yields the request
 * exactly as it will be sent, or the reason it cannot be.
 */
import {
  compileTemplate,
  type CompiledTemplate,
  type CompileOptions,
  type RenderError,
  type ShapeOption,
  type TemplateContext,
  type TemplateProblem,
} from './compile.js';
import { CALLHOOK_HEADERS } from '../domain/integration.js';
import { boundaryOf } from '../domain/media-type.js';
import { HEADER_FORBIDDEN } from './escapers.js';
import type { CompileFilterOptions } from './filters.js';
import { systemValues, type RenderScope } from './scope.js';
import { structuredBody } from './body-structure.js';
import { positioner } from './problems.js';
import { parseTemplate } from './syntax.js';

export type BodyContext = Extract<TemplateContext, 'json' | 'xml' | 'form' | 'text'>;

/**
 * The body's context from its `Content-Type` value: JSON for `application/json` and any
 * `…+json`, XML for `application/xml`, `text/xml` and any `…+xml` (SOAP 1.2 included), form for
 * `application/x-www-form-urlencoded`, text for everything else and for no Content-Type.
 */
export function bodyContextFor(contentType: string | undefined): BodyContext {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (media === 'application/json' || media === 'text/json' || media.endsWith('+json'))
    return 'json';
  if (media === 'application/xml' || media === 'text/xml' || media.endsWith('+xml')) return 'xml';
  if (media === 'application/x-www-form-urlencoded') return 'form';
  return 'text';
}

/** Set by Callhook or by the HTTP client for every request; a template cannot set them. */
const MANAGED_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  ...CALLHOOK_HEADERS,
]);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export type Header = [name: string, value: string];

export interface CompiledHeaders {
  /** The literal `Content-Type` value, when there is one. */
  readonly contentType: string | undefined;
  readonly tokens: readonly string[];
  render(scope: RenderScope): { ok: true; headers: Header[] } | { ok: false; error: RenderError };
}

interface HeaderTemplate {
  name: string;
  line: number;
  value: CompiledTemplate;
}

/**
 * Compiles headers text, one `Name: value` per line (blank lines skipped). Names are HTTP tokens
 * and literal; values are templates in the `header` context. Problems carry the header's line.
 */
export function compileHeaders(
  text: string,
  options: CompileFilterOptions & { field?: string } = {},
): { ok: true; headers: CompiledHeaders } | { ok: false; problems: TemplateProblem[] } {
  const field = options.field ?? 'config.headers';
  const problems: TemplateProblem[] = [];
  const compiled: HeaderTemplate[] = [];
  let contentType: string | undefined;
  let contentTypeLine = 0;
  let hostLine = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    const problem = (column: number, message: string) =>
      problems.push({ field, line, column, message });
    const colon = raw.indexOf(':');
    const name = colon < 0 ? raw.trim() : raw.slice(0, colon).trim();
    if (colon < 0) return problem(1, 'expected `Name: value`');
    if (!HEADER_NAME.test(name)) {
      return problem(
        1,
        name.includes('{{')
          ? 'a header name cannot hold tokens; only its value can'
          : `"${name}" is not a valid header name (letters, digits and !#$%&'*+.^_\`|~-)`,
      );
    }
    const lower = name.toLowerCase();
    if (MANAGED_HEADERS.has(lower)) {
      return problem(1, `${name} is set by Callhook for every request; remove this line`);
    }
    const rest = raw.slice(colon + 1);
    const control = HEADER_FORBIDDEN.exec(rest);
    if (control !== null) {
      const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
      return problem(
        colon + 2 + control.index,
        `the value holds the control character U+${code}, which no header can carry`,
      );
    }
    const lead = rest.length - rest.trimStart().length;
    const source = rest.trim();
    const column = colon + 2 + lead;
    if (lower === 'host') {
      // The HTTP client refuses two (`duplicate host header`): every delivery would fail.
      if (hostLine > 0) {
        return problem(1, `Host is already given on line ${hostLine}: a request has one Host`);
      }
      hostLine = line;
    }
    if (lower === 'content-type') {
      if (contentTypeLine > 0) {
        return problem(1, `Content-Type is already given on line ${contentTypeLine}`);
      }
      contentTypeLine = line;
      if (source.includes('{{')) {
        return problem(column, 'Content-Type must be literal: it decides how the body is escaped');
      }
      contentType = source;
    }
    const result = compileTemplate(source, 'header', {
      ...options,
      field,
      line,
      column,
      ...(lower === 'host' ? { hostHeader: true } : {}),
    });
    if (!result.ok) problems.push(...result.problems);
    else compiled.push({ name, line, value: result.template });
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, headers: new HeaderTemplates(compiled, contentType) };
}

class HeaderTemplates implements CompiledHeaders {
  readonly tokens: readonly string[];

  constructor(
    private readonly list: readonly HeaderTemplate[],
    readonly contentType: string | undefined,
  ) {
    this.tokens = [...new Set(list.flatMap((h) => h.value.tokens))];
  }

  render(scope: RenderScope): { ok: true; headers: Header[] } | { ok: false; error: RenderError } {
    const headers: Header[] = [];
    for (const header of this.list) {
      const result = header.value.render(scope);
      if (!result.ok) {
        const error = { ...result.error, message: `${header.name}: ${result.error.message}` };
        return { ok: false, error };
      }
      headers.push([header.name, result.value]);
    }
    return { ok: true, headers };
  }
}

export interface HttpRequestTemplateInput {
  url: string;
  method: string;
  /** One `Name: value` per line. */
  headers: string;
  /** Ignored for GET. */
  body: string;
}

export interface RenderedHttpRequest {
  method: string;
  /** Absolute http(s) URL, normalised (`new URL(…).href`). */
  url: string;
  /** In the order written; non-ASCII values as the latin1 view of their UTF-8 bytes. */
  headers: Header[];
  /** null for GET. */
  body: string | null;
}

export type HttpRenderResult =
  { ok: true; request: RenderedHttpRequest } | { ok: false; error: RenderError };

export interface CompiledHttpRequest {
  readonly method: string;
  readonly bodyContext: BodyContext;
  /** Every token the request reads, e.g. to build sample data. */
  readonly tokens: readonly string[];
  render(scope: RenderScope): HttpRenderResult;
}

/**
 * Compiles an HTTP integration's URL, headers and body; problems name `config.url`,
 * `config.headers` or `config.body` with line and column.
 *
 * ### Example
 * ```ts
 * const compiled = compileHttpRequest(integration.config, { defaultCountry: 'US' });
 * if (!compiled.ok) throw new AppError('VALIDATION_FAILED', 'Invalid templates', compiled.problems);
 * const rendered = compiled.request.render(eventScope({ event, campaign, integration }));
 * if (!rendered.ok) return failed(`${rendered.error.field}: ${rendered.error.message}`);
 * await httpClient.send({ ...rendered.request, ... });
 * ```
 */
export function compileHttpRequest(
  input: HttpRequestTemplateInput,
  options: ShapeOption = {},
): { ok: true; request: CompiledHttpRequest } | { ok: false; problems: TemplateProblem[] } {
  const method = input.method.toUpperCase();
  const url = compileTemplate(input.url.trim(), 'url', {
    ...options,
    field: 'config.url',
    ...startOf(input.url),
  });
  const headers = compileHeaders(input.headers, options);
  const contentType = headers.ok ? headers.headers.contentType : contentTypeOf(input.headers);
  const bodyContext = bodyContextFor(contentType);
  const boundary = boundaryOf(contentType);
  const bodyOptions: CompileOptions = {
    ...options,
    field: 'config.body',
    ...(boundary === undefined ? {} : { multipartBoundary: boundary }),
  };
  const body = method === 'GET' ? undefined : compileTemplate(input.body, bodyContext, bodyOptions);
  const untyped =
    body !== undefined && contentType === undefined && options.judgeShape !== false
      ? untypedBodyProblem(input.body)
      : undefined;
  const problems = [
    ...(url.ok ? [] : url.problems),
    ...(headers.ok ? [] : headers.problems),
    ...(untyped === undefined ? [] : [untyped]),
    ...(body === undefined || body.ok ? [] : body.problems),
  ];
  if (!url.ok || !headers.ok || (body !== undefined && !body.ok) || untyped !== undefined) {
    return { ok: false, problems };
  }
  return {
    ok: true,
    request: new HttpRequestTemplate(
      method,
      bodyContext,
      url.template,
      headers.headers,
      body?.template,
    ),
  };
}

/**
 * A body with tokens that is JSON or XML (tokens standing in) but has no `Content-Type` line: it
 * would be rendered as text, its values inserted as they are, so a `"` or `<` in one would break
 * it. Refused at save only (judgeShape): what was stored before sends as it did.
 */
function untypedBodyProblem(source: string): TemplateProblem | undefined {
  const { parts, problems } = parseTemplate(source);
  if (problems.length > 0) return undefined;
  const kind = structuredBody(source, parts);
  if (kind === undefined) return undefined;
  const [what, type, breaker] =
    kind === 'json'
      ? ['JSON', 'application/json', 'a `"`']
      : ['an XML document', 'application/xml', 'a `<` or `&`'];
  const at = positioner(source, { field: 'config.body' });
  return at(
    source.length - source.trimStart().length,
    `is ${what}, but config.headers has no Content-Type line, so its values would be inserted unescaped (${breaker} in one would break it): add \`Content-Type: ${type}\` to the headers, or \`Content-Type: text/plain\` to send it as written`,
  );
}

/** Where `text.trim()` starts in `text`, if not at its start: problems then point into the field. */
function startOf(text: string): { line?: number; column?: number } {
  const lead = text.length - text.trimStart().length;
  if (lead === 0) return {};
  const before = text.slice(0, lead);
  const newline = before.lastIndexOf('\n');
  return {
    line: 1 + (before.match(/\n/g)?.length ?? 0),
    column: newline < 0 ? 1 + lead : lead - newline,
  };
}

/** The Content-Type value of headers text that did not compile (to check the body anyway). */
function contentTypeOf(headers: string): string | undefined {
  const match = /^[ \t]*content-type[ \t]*:(.*)$/im.exec(headers);
  return match?.[1]?.trim();
}

class HttpRequestTemplate implements CompiledHttpRequest {
  readonly tokens: readonly string[];

  constructor(
    readonly method: string,
    readonly bodyContext: BodyContext,
    private readonly url: CompiledTemplate,
    private readonly headers: CompiledHeaders,
    private readonly body: CompiledTemplate | undefined,
  ) {
    this.tokens = [
      ...new Set([...url.tokens, ...headers.tokens, ...(body === undefined ? [] : body.tokens)]),
    ];
  }

  render(scope: RenderScope): HttpRenderResult {
    // One instant for every field of the request.
    if (scope.system === undefined) scope = { ...scope, system: systemValues(Date.now()) };
    const url = this.url.render(scope);
    if (!url.ok) return url;
    const headers = this.headers.render(scope);
    if (!headers.ok) return headers;
    let body: string | null = null;
    if (this.body !== undefined) {
      const rendered = this.body.render(scope);
      if (!rendered.ok) return rendered;
      body = rendered.value;
    }
    return {
      ok: true,
      request: { method: this.method, url: url.value, headers: headers.headers, body },
    };
  }
}
