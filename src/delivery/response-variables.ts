/**
 * IVR variables from a response (SPEC §5): `responseVariables` `[{name, path, default?}]` read
 * dotted paths out of the parsed body, so an IVR can branch on or speak an API's answer without
 * code. Pure: the body in, strings out. docs/ivr.md describes the mapping for users.
 *
 * - `json`: `customer.balance`, `items.0.id` (or `items[0].id`); `""` is the whole document.
 * - `xml`: parsed with fast-xml-parser, starting at the root element (`r.account.balance` for
 *   `<r><account><balance>…`); attributes are `@name`; an element with attributes reads as its
 *   text (`#text` names the text explicitly, with or without attributes; an empty element's is
 *   `""`); character references (`&#233;`) are decoded; namespace prefixes are dropped; repeated
 *   elements are arrays, and index `0` of an element that appears once is the element itself.
 * - `soap`: the same paths into the SOAP result object (`GetBalanceResult`), typed by the WSDL
 *   (an `xs:decimal` 12.50 reads `12.5`); a path starting at `Envelope` reads the response
 *   envelope as XML instead, text exactly as sent (`Envelope.Body.GetBalanceResponse.…`).
 * - `text`: every variable is the whole body, trimmed (empty: the default); the path is not read.
 */
import {
  isInteger,
  isLosslessNumber,
  isSafeNumber,
  LosslessNumber,
  parse as parseLossless,
  stringify as stringifyLossless,
} from 'lossless-json';
import { XMLParser } from 'fast-xml-parser';
import { briefly, xmlSyntaxError } from '../template/body-structure.js';
import type { ResponseEncoding, ResponseVariable } from '../domain/integration.js';

export type VariableSource = ResponseEncoding | 'soap';

/** What a response offers for variables. `soapResult` is read when `encoding` is `soap`. */
export interface ResponseInput {
  encoding: VariableSource;
  /** The body as text (the first 64 KiB); null when nothing answered. For SOAP, the envelope. */
  body: string | null;
  /** True when the body was longer than what `body` holds. */
  truncated?: boolean;
  /** Why the body could not be decoded (its Content-Encoding): the variables hold defaults. */
  bodyError?: string | undefined;
  soapResult?: unknown;
}

export interface MappedVariables {
  /** Every variable named by the integration, a string each (default or `""` when absent). */
  values: Record<string, string>;
  /**
   * Why the body could not be read (invalid JSON or XML, cut at 64 KiB, XML the parser refuses,
   * or a Content-Encoding that could not be decoded); the variables then hold defaults.
   */
  problem?: string;
}

/** A variable's path split once: property names and array indexes. */
export interface CompiledVariable {
  name: string;
  segments: readonly string[];
  default: string;
}

/**
 * Splits each path into segments: `items[0].id` and `items.0.id` are the same path.
 *
 * ### Example
 * ```ts
 * compileVariables([{ name: 'balance', path: 'customer.balance', default: '0' }]);
 * // → [{ name: 'balance', segments: ['customer', 'balance'], default: '0' }]
 * ```
 */
export function compileVariables(variables: readonly ResponseVariable[]): CompiledVariable[] {
  return variables.map((variable) => ({
    name: variable.name,
    segments: variable.path
      .replace(/\[(\d+)\]/g, '.$1')
      .split('.')
      .map((segment) => segment.trim())
      .filter((segment) => segment !== ''),
    default: variable.default ?? '',
  }));
}

/**
 * Why a path can never find anything, with its 1-based column; undefined when it is a path.
 * Only mistakes no document can answer are refused: another path language's syntax (JSONPath's
 * `$.a` and `[*]`, XPath's or JSON Pointer's `/a/b`) and a bracket that does not hold a list
 * index (`items[x]`, `items[0`). Such a path took its default on every call, silently.
 *
 * ### Example
 * ```ts
 * pathProblem('$.customer.balance');
 * // → { column: 1, message: 'starts at the top of the document without "$": write "customer.balance"' }
 * ```
 */
export function pathProblem(path: string): { column: number; message: string } | undefined {
  const lead = path.length - path.trimStart().length;
  const trimmed = path.trim();
  const jsonPath = /^\$(?=$|[.[])/.exec(trimmed);
  if (jsonPath !== null) {
    const rest = trimmed.slice(1).replace(/^\./, '');
    const write = rest === '' ? 'an empty path for the whole document' : `write "${rest}"`;
    return {
      column: lead + 1,
      message: `starts at the top of the document without "$": ${write}`,
    };
  }
  if (trimmed.startsWith('/')) {
    const dotted = trimmed.replace(/^\/+/, '').replaceAll('/', '.');
    return {
      column: lead + 1,
      message: `names are separated by dots, from the top of the document: write "${dotted}"`,
    };
  }
  const index = /\[(\d+)\]/g;
  let at = 0;
  for (const match of path.matchAll(/\[[^\]]*\]?|\]/g)) {
    index.lastIndex = match.index;
    if (index.exec(path)?.index === match.index) continue;
    at = match.index + 1;
    break;
  }
  if (at > 0) {
    return {
      column: at,
      message: 'a bracket holds a list index from 0, e.g. items[0] (or items.0)',
    };
  }
  const star = path.split('.').findIndex((segment) => segment.trim() === '*');
  if (star >= 0) {
    const column = path.split('.').slice(0, star).join('.').length + (star > 0 ? 1 : 0) + 1;
    return { column, message: 'a path reads one value: name a list index (items.0.id), not *' };
  }
  return undefined;
}

/**
 * XML element names that every JS object already has (`toString`, `constructor`, `__proto__`…)
 * and `prototype`. fast-xml-parser refuses some (throws) and renames others (`__toString`, which
 * an element of that very name would then share), guarding against prototype pollution. Such an
 * element is stored under its name behind a NUL instead, which no XML name can contain, and a
 * path segment naming one reads it there: `r.toString` finds `<r><toString>`.
 */
const OBJECT_NAMES = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);
const hidden = (name: string): string => (OBJECT_NAMES.has(name) ? `\u0000${name}` : name);

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  // Values stay text: an account number `007` or a balance `12.50` is spoken as sent.
  parseTagValue: false,
  parseAttributeValue: false,
  removeNSPrefix: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
  // Decodes character references (`&#233;`, `&#xE9;`), and HTML's named entities (`&nbsp;`).
  // Entities a DOCTYPE defines stay bounded by the parser's limits (no nested expansion, at most
  // 100,000 characters expanded).
  htmlEntities: true,
  transformTagName: hidden,
});

/** Only the first 64 KiB of a body are kept (KEPT_BODY_BYTES): a longer one arrives cut. */
const CUT = 'the body was cut at 64 KiB (only that much is kept), so it is not a whole';

/** Some Windows services start UTF-8 with a byte order mark, which JSON.parse refuses. */
function withoutBom(body: string): string {
  return body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
}

type Parsed = { ok: true; root: unknown } | { ok: false; problem: string };

/** Sixteen digits in a row: a body without them holds no integer JSON.parse rounds. */
const MAYBE_LONG = /\d{16}/;

/**
 * An integer past 2^53 as the digits sent (JSON.parse reads `12345678901234567890` as
 * `12345678901234567000`), so that an order or account id sent as a JSON number reads as it was
 * written; any other number as JSON.parse reads it.
 */
function keepLongIntegers(digits: string): unknown {
  return isInteger(digits) && !isSafeNumber(digits) ? new LosslessNumber(digits) : Number(digits);
}

/**
 * JSON.parse, with integers past 2^53 kept as LosslessNumber (lossless-json). Only a body with
 * such digits is read by that parser, slower than JSON.parse; a body it refuses (a duplicate key,
 * which JSON.parse takes, the last one winning) is read by JSON.parse, whose error is the one
 * given for a body that is not JSON.
 */
function parseJson(body: string): unknown {
  if (!MAYBE_LONG.test(body)) return JSON.parse(body) as unknown;
  try {
    return parseLossless(body, null, {
      parseNumber: keepLongIntegers,
      onDuplicateKey: ({ newValue }) => newValue,
    });
  } catch {
    return JSON.parse(body) as unknown;
  }
}

function parse(input: ResponseInput): Parsed {
  const body = withoutBom(input.body ?? '');
  const cut = input.truncated === true;
  if (input.bodyError !== undefined && input.encoding !== 'soap')
    return { ok: false, problem: input.bodyError };
  switch (input.encoding) {
    case 'soap':
      return { ok: true, root: input.soapResult };
    case 'text': {
      // An empty answer is no answer: the default applies.
      const text = body.trim();
      return { ok: true, root: text === '' ? undefined : text };
    }
    case 'json':
      if (body.trim() === '') return { ok: true, root: undefined };
      try {
        return { ok: true, root: parseJson(body) };
      } catch (error) {
        if (cut) return { ok: false, problem: `${CUT} JSON document` };
        return { ok: false, problem: `the body is not valid JSON: ${(error as Error).message}` };
      }
    case 'xml': {
      if (body.trim() === '') return { ok: true, root: undefined };
      const invalid = xmlSyntaxError(body);
      if (invalid !== undefined) {
        if (cut) return { ok: false, problem: `${CUT} XML document` };
        const { message, line, column } = invalid;
        return {
          ok: false,
          problem: `the body is not valid XML: ${message} (line ${line}, column ${column})`,
        };
      }
      try {
        return { ok: true, root: xmlParser.parse(body) as unknown };
      } catch (error) {
        // Well-formed, but refused by the parser (nested deeper than its limit, say).
        return {
          ok: false,
          problem: `the body could not be read as XML: ${briefly((error as Error).message)}`,
        };
      }
    }
  }
}

/**
 * Maps a response onto the integration's variables.
 *
 * ### Example
 * ```ts
 * mapVariables(compileVariables([{ name: 'balance', path: 'r.account.balance' }]), {
 *   encoding: 'xml', body: '<r><account><balance currency="EUR">12.50</balance></account></r>',
 * });
 * // → { values: { balance: '12.50' } }
 * ```
 */
export function mapVariables(
  variables: readonly CompiledVariable[],
  input: ResponseInput,
): MappedVariables {
  const values: Record<string, string> = {};
  // The IVR's `body` variable is the body too: a body that could not be decoded is said.
  if (variables.length === 0)
    return input.bodyError === undefined ? { values } : { values, problem: input.bodyError };
  let parsed: Parsed | undefined;
  let envelope: Parsed | undefined;
  let problem: string | undefined;
  for (const variable of variables) {
    // SOAP paths from `Envelope` read the raw envelope, parsed only when a variable asks.
    const fromEnvelope = input.encoding === 'soap' && variable.segments[0] === 'Envelope';
    const source = fromEnvelope
      ? (envelope ??= parse({ ...input, encoding: 'xml' }))
      : (parsed ??= parse(input));
    if (!source.ok) {
      problem ??= source.problem;
      values[variable.name] = variable.default;
      continue;
    }
    const shape = fromEnvelope ? 'xml' : input.encoding;
    const found =
      input.encoding === 'text' ? source.root : follow(source.root, variable.segments, shape);
    values[variable.name] = asText(found, shape) ?? variable.default;
  }
  return problem === undefined ? { values } : { values, problem };
}

function follow(root: unknown, segments: readonly string[], shape: VariableSource): unknown {
  const lenient = shape !== 'json';
  let value = root;
  for (const path of segments) {
    const segment = shape === 'xml' ? hidden(path) : path;
    if (Array.isArray(value)) {
      value = /^\d+$/.test(segment) ? value[Number(segment)] : undefined;
    } else if (value !== null && typeof value === 'object') {
      if (Object.hasOwn(value, segment)) value = (value as Record<string, unknown>)[segment];
      // An XML element that appears once is not an array; `items.item.0` still finds it.
      else if (lenient && segment === '0') continue;
      // The parser has no `#text` for an element without text (`<b a="1"/>`): it is empty.
      else if (shape === 'xml' && segment === '#text') value = '';
      else return undefined;
    } else if (lenient && segment === '0' && value !== undefined) {
      continue;
    } else if (shape === 'xml' && segment === '#text' && typeof value === 'string') {
      // An element without attributes is its text already.
      continue;
    } else {
      return undefined;
    }
    if (value === undefined) return undefined;
  }
  return value;
}

/** A found value as a string; undefined (the default applies) when absent or null. */
function asText(value: unknown, shape: VariableSource): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (isLosslessNumber(value)) return value.toString();
  // The soap package turns xs:dateTime into a Date.
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (shape !== 'json' && typeof value === 'object' && !Array.isArray(value)) {
    // An element with attributes reads as its text; the soap package calls the text `$value`.
    const record = value as Record<string, unknown>;
    for (const key of ['#text', '$value']) {
      const text = record[key];
      if (typeof text === 'string' || typeof text === 'number') return String(text);
    }
    // Attributes and no text (`<balance currency="EUR"/>`): an empty element, like `<b/>`.
    if (shape === 'xml' && Object.keys(record).every((key) => key.startsWith('@'))) return '';
  }
  if (shape === 'xml') return JSON.stringify(value, withNamesShown);
  // A long integer inside goes out as the number it was, digits as sent.
  if (shape === 'json') return stringifyLossless(value) ?? '';
  return JSON.stringify(value);
}

/** JSON.stringify's replacer for parsed XML: element names as they were sent (see `hidden`). */
function withNamesShown(this: unknown, _key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const entries = Object.entries(value);
  if (!entries.some(([key]) => key.startsWith('\u0000'))) return value;
  // fromEntries defines each key as an own property, `__proto__` included.
  return Object.fromEntries(
    entries.map(([key, inner]) => [key.startsWith('\u0000') ? key.slice(1) : key, inner]),
  );
}
