/**
 * Where each token of a template lands, and how a value is written there: the placement decides
 * the escaping (`emitter`), and for JSON and XML bodies the template's shape with tokens standing
 * in is checked at save (`checkBodyShape`). Used by `compileTemplate` (compile.ts).
 */
import {
  jsonPlacements,
  jsonSyntaxError,
  skeleton,
  xmlPlacements,
  xmlSyntaxError,
} from './body-structure.js';
import {
  cdataEscape,
  formEncode,
  jsonStringEscape,
  percentEncode,
  urlPrefixEncode,
  wellFormed,
  xmlEscape,
  xmlSafe,
} from './escapers.js';
import { jsonLiteral, toText, type OutputKind } from './filters.js';
import { offsetOf, type Positioner, type TemplateProblem } from './problems.js';
import type { Part } from './syntax.js';
import type { TemplateContext } from './compile.js';

/** Where one token's value lands: what escaping it gets. */
export type Placement =
  'url-base' | 'url' | 'form' | 'json-string' | 'json-value' | 'xml' | 'cdata' | 'soap' | 'plain';

export function placementsFor(
  context: TemplateContext,
  parts: readonly Part[],
  exprs: readonly Extract<Part, { kind: 'expr' }>[],
  at: Positioner,
  problems: TemplateProblem[],
): Placement[] {
  switch (context) {
    case 'url':
      return exprs.map((expr) => (expr.offset === 0 ? 'url-base' : 'url'));
    case 'json':
      return jsonPlacements(parts).map((p) => (p === 'string' ? 'json-string' : 'json-value'));
    case 'xml':
      return xmlPlacements(parts).map((p, index) => {
        if (typeof p === 'string') return p === 'cdata' ? 'cdata' : 'xml';
        problems.push(at(exprs[index]?.offset ?? 0, p.problem));
        return 'xml';
      });
    case 'form':
      return exprs.map(() => 'form');
    case 'soap':
      return exprs.map(() => 'soap');
    default:
      return exprs.map(() => 'plain');
  }
}

/** The function turning a filtered value into output text for one place in one context. */
export function emitter(placement: Placement, output: OutputKind): (value: unknown) => string {
  if (output === 'raw') return toText;
  switch (placement) {
    case 'url-base':
      return (value) => urlPrefixEncode(toText(value));
    case 'url':
      // `urlencode` output is already encoded: encoding it again would send `%252B`.
      return output === 'urlencoded' ? toText : (value) => percentEncode(toText(value));
    case 'form':
      return output === 'urlencoded' ? toText : (value) => formEncode(toText(value));
    case 'json-string':
      return (value) => jsonStringEscape(toText(value));
    case 'json-value':
      return output === 'json' ? toText : jsonLiteral;
    case 'xml':
      return (value) => xmlEscape(toText(value));
    case 'cdata':
      return (value) => cdataEscape(toText(value));
    case 'soap':
      // The SOAP library XML-escapes when it builds the envelope; only what XML cannot carry
      // at all is replaced here, so nothing is escaped twice.
      return (value) => xmlSafe(toText(value));
    case 'plain':
      return (value) => wellFormed(toText(value));
  }
}

/** Checks a JSON or XML body's shape with its tokens standing in; problems go to `problems`. */
export function checkBodyShape(
  source: string,
  context: TemplateContext,
  parts: readonly Part[],
  placements: readonly Placement[],
  at: Positioner,
  problems: TemplateProblem[],
): void {
  if (source.trim() === '') return;
  if (context === 'json') {
    const text = skeleton(source, parts, (i, length) =>
      placements[i] === 'json-value' ? 'null'.padEnd(length) : 'x'.repeat(length),
    );
    const error = jsonSyntaxError(text);
    if (error !== undefined) problems.push(at(error.offset, `is not valid JSON: ${error.message}`));
  } else if (context === 'xml') {
    const error = xmlSyntaxError(
      skeleton(source, parts, (_i, length) => 'x'.repeat(length)),
      { strictMarkup: true },
    );
    if (error !== undefined) {
      problems.push(
        at(offsetOf(source, error.line, error.column), `is not well-formed XML: ${error.message}`),
      );
    }
  }
}
