/**
 * No value can break the request (SPEC §3): for arbitrary Unicode values — quotes, backslashes,
 * `<`, `&`, `+`, `%`, CR, LF, NUL, lone surrogates — every context yields a request that parses
 * and carries the value intact (or, for headers, is refused with a reason).
 */
import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import {
  compileTemplate,
  type CompiledTemplate,
  type TemplateContext,
} from '../../src/template/compile.js';
import type { RenderScope } from '../../src/template/scope.js';
import { headerTextValue } from '../../src/template/escapers.js';

const SPECIAL = [
  '"',
  "'",
  '\\',
  '<',
  '>',
  '&',
  '+',
  '%',
  '%2B',
  '\r',
  '\n',
  '\r\n',
  '\0',
  '\t',
  ' ',
  '/',
  '?',
  '#',
  '=',
  ';',
  '.',
  '..',
  ']]>',
  '{{',
  '}}',
  '&amp;',
  '&#13;',
  'é',
  'Ω',
  '😀',
  '\u2028',
  '\u007f',
  '\u0001',
  '\u001b',
  '\uFFFE',
  '\uFFFF',
  '\uD800',
  '\uDFFF',
  '\uDBFF\uDC00',
];
const char = fc.oneof(
  fc.constantFrom(...SPECIAL),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
);
/** Arbitrary strings, lone surrogates included. */
const value = fc.array(char, { maxLength: 30 }).map((chars) => chars.join(''));
const RUNS = { numRuns: 400 };

const compiled = (source: string, context: TemplateContext): CompiledTemplate => {
  const result = compileTemplate(source, context, { field: 'config.body' });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.template;
};
const scopeOf = (v: unknown): RenderScope => ({ contact: { firstName: v, custom: { note: v } } });
const render = (template: CompiledTemplate, v: unknown) => {
  const result = template.render(scopeOf(v));
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
};
/** What UTF-8 can carry: lone surrogates become U+FFFD. */
const wellFormed = (s: string) => s.replace(/\p{Cs}/gu, '\uFFFD');
/** What XML 1.0 can carry: the rest becomes U+FFFD. */
const xmlCarriable = (s: string) =>
  s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|\p{Cs}/gu, '\uFFFD');

describe('JSON body', () => {
  const template = compiled(
    '{"inString": "{{contact.firstName}}", "bare": {{contact.firstName}},\n' +
      ' "literal": {{contact.custom.note | json}}, "jsonInString": "{{contact.custom.note | json}}"}',
    'json',
  );

  it('parses, with every string value intact (lone surrogates travel as \\udxxx)', () => {
    fc.assert(
      fc.property(value, (v) => {
        const parsed = JSON.parse(render(template, v)) as Record<string, unknown>;
        expect(parsed['inString']).toBe(v);
        expect(parsed['bare']).toBe(v);
        expect(parsed['literal']).toBe(v);
        expect(JSON.parse(parsed['jsonInString'] as string)).toBe(v);
      }),
      RUNS,
    );
  });

  it('parses, with any JSON value intact', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const parsed = JSON.parse(render(template, v)) as Record<string, unknown>;
        expect(parsed['literal']).toEqual(JSON.parse(JSON.stringify(v)));
        expect(parsed['bare']).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      RUNS,
    );
  });
});

describe('XML body', () => {
  const template = compiled(
    '<?xml version="1.0" encoding="UTF-8"?>\n<r a="{{contact.firstName}}" b=\'{{contact.firstName}}\'>' +
      '<t>{{contact.firstName}}</t><c><![CDATA[{{contact.firstName}}]]></c></r>',
    'xml',
  );
  const parser = new XMLParser({
    ignoreAttributes: false,
    trimValues: false,
    parseTagValue: false,
    parseAttributeValue: false,
    htmlEntities: true,
    cdataPropName: '#cdata',
  });
  const ordering = new XMLParser({
    preserveOrder: true,
    trimValues: false,
    parseTagValue: false,
    htmlEntities: true,
    cdataPropName: '#cdata',
  });
  const find = (nodes: unknown, name: string): unknown => {
    if (!Array.isArray(nodes)) return undefined;
    for (const node of nodes as Record<string, unknown>[]) {
      if (name in node) return node[name];
      const inner = Object.entries(node).find(([key]) => key !== ':@' && key !== '#text');
      const found = inner === undefined ? undefined : find(inner[1], name);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const textInOrder = (nodes: unknown): string =>
    Array.isArray(nodes)
      ? (nodes as Record<string, unknown>[])
          .map((node) => ('#text' in node ? String(node['#text']) : textInOrder(node['#cdata'])))
          .join('')
      : '';
  const text = (node: unknown): string => {
    if (typeof node === 'string') return node;
    if (node === undefined) return '';
    const record = node as Record<string, unknown>;
    return text(record['#text'] ?? record['#cdata'] ?? (Array.isArray(node) ? node[0] : undefined));
  };

  it('is well-formed, carries no character XML 1.0 refuses, and keeps the value', () => {
    fc.assert(
      fc.property(value, (v) => {
        const xml = render(template, v);
        expect(XMLValidator.validate(xml)).toBe(true);
        expect(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|\p{Cs}/u.test(xml)).toBe(
          false,
        );
        const root = (parser.parse(xml) as { r: Record<string, unknown> }).r;
        const expected = xmlCarriable(v);
        expect(root['@_a'] ?? '').toBe(expected);
        expect(root['@_b'] ?? '').toBe(expected);
        expect(text(root['t'])).toBe(expected);
        // `]]>` and CR leave the CDATA section for a moment; in document order it reads back whole.
        const ordered = ordering.parse(xml) as unknown[];
        expect(textInOrder(find(ordered, 'c'))).toBe(expected);
      }),
      RUNS,
    );
  });
});

describe('URL', () => {
  const template = compiled(
    'https://crm.example/find/{{contact.firstName}}?phone={{contact.firstName}}&fixed=1',
    'url',
  );

  it('parses, the value round-trips in a path segment and in the query, and adds no parameter', () => {
    fc.assert(
      fc.property(value, (v) => {
        const result = template.render(scopeOf(v));
        if (v === '.' || v === '..') {
          // A dot segment would move the request to another path: refused.
          expect(result.ok).toBe(false);
          return;
        }
        if (!result.ok) throw new Error(result.error.message);
        const url = new URL(result.value);
        // Rendered without parsing (literal authority), yet exactly what the parser would give.
        expect(result.value).toBe(url.href);
        expect(url.origin).toBe('https://crm.example');
        expect(decodeURIComponent(url.pathname.split('/')[2] ?? '')).toBe(wellFormed(v));
        expect(url.searchParams.get('phone')).toBe(wellFormed(v));
        expect([...url.searchParams.keys()]).toEqual(['phone', 'fixed']);
        expect(url.hash).toBe('');
      }),
      RUNS,
    );
  });

  it('sends + as %2B, never as a space', () => {
    expect(render(template, '+15551234567')).toBe(
      'https://crm.example/find/%2B15551234567?phone=%2B15551234567&fixed=1',
    );
  });
});

describe('form body', () => {
  const template = compiled('name={{contact.firstName}}&fixed=1', 'form');

  it('round-trips through URLSearchParams and adds no field', () => {
    fc.assert(
      fc.property(value, (v) => {
        const params = new URLSearchParams(render(template, v));
        expect(params.get('name')).toBe(wellFormed(v));
        expect([...params.keys()]).toEqual(['name', 'fixed']);
      }),
      RUNS,
    );
  });
});

describe('header value', () => {
  const template = compileTemplate('Bearer {{contact.firstName}}', 'header', {
    field: 'config.headers',
    line: 2,
    column: 16,
  });
  if (!template.ok) throw new Error('header template');

  it('never contains CR, LF or NUL: such a value is refused with the reason', () => {
    fc.assert(
      fc.property(value, (v) => {
        const result = template.template.render(scopeOf(v));
        if (/[\u0000-\u0008\u000A-\u001F\u007F]/.test(v)) {
          expect(result.ok).toBe(false);
          if (!result.ok) {
            expect(result.error).toMatchObject({ field: 'config.headers', line: 2 });
            expect(result.error.message).toMatch(/\{\{contact\.firstName\}\}/);
          }
          return;
        }
        if (!result.ok) throw new Error(result.error.message);
        expect(/[\r\n\0]/.test(result.value)).toBe(false);
        // What undici accepts: latin1 bytes only, no controls but tab.
        expect(/[^\t\x20-\x7e\x80-\xff]/.test(result.value)).toBe(false);
        const sent = Buffer.from(result.value, 'latin1').toString('utf8');
        expect(sent).toBe(`Bearer ${wellFormed(v)}`.replace(/[ \t]+$/, ''));
        // What an attempt log shows is what was sent.
        expect(headerTextValue(result.value)).toBe(sent);
      }),
      RUNS,
    );
  });
});

describe('SOAP parameter', () => {
  const template = compiled('Note: {{contact.firstName}}', 'soap');

  it('is plain text (the SOAP library escapes it once) that XML can carry', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(render(template, v)).toBe(`Note: ${xmlCarriable(v)}`);
      }),
      RUNS,
    );
  });
});

describe('any template text', () => {
  it('compiles to a template or a list of problems, never an exception', () => {
    const piece = fc.oneof(
      value,
      fc.constantFrom(
        '{{',
        '}}',
        '|',
        ':',
        '"',
        "'",
        'contact.phone',
        'default',
        ',',
        '[',
        ']',
        '.',
      ),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }),
        fc.constantFrom('url', 'json', 'xml', 'form', 'text', 'header', 'soap'),
        (pieces, context) => {
          const result = compileTemplate(pieces.join(''), context as TemplateContext, {
            field: 'f',
          });
          if (result.ok) result.template.render(scopeOf('x'));
          else for (const p of result.problems) expect(p.line).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
