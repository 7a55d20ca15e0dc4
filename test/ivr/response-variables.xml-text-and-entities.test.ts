/**
 * XML response variables as docs/ivr.md describes them: an empty element reads `""` even when it
 * has attributes, `#text` names an element's text whether or not it has attributes, and character
 * references (`&#233;`, `&#xE9;`) and HTML's named entities are decoded in text and attribute
 * values, while entities a DOCTYPE defines cannot blow up.
 */
import { describe, expect, it } from 'vitest';
import { expectXml, mapXml } from './map-response.js';

describe('XML response variables', () => {
  it('reads an empty element with attributes as "" (present, so no default), its attributes by @name', () => {
    expectXml(
      [
        { name: 'balance', path: 'r.balance', default: 'none' },
        { name: 'currency', path: 'r.balance.@currency' },
        { name: 'open', path: 'r.limit', default: 'none' },
        { name: 'root', path: 'r.flag', default: 'none' },
      ],
      '<r><balance currency="EUR"/><limit kind="soft" max="5"></limit><flag a="1">  </flag></r>',
      { balance: '', currency: 'EUR', open: '', root: '' },
    );
  });

  it('still reads an element with child elements as its JSON', () => {
    const { values } = mapXml(
      [{ name: 'account', path: 'r.account' }],
      '<r><account id="7"><balance>1</balance></account></r>',
    );
    expect(values).toEqual({ account: '{"balance":"1","@id":"7"}' });
  });

  it('names the text with #text whether or not the element has attributes', () => {
    expectXml(
      [
        { name: 'plain', path: 'r.owner.#text', default: 'd' },
        { name: 'withAttributes', path: 'r.balance.#text', default: 'd' },
        { name: 'emptyPlain', path: 'r.note.#text', default: 'd' },
        { name: 'emptyWithAttributes', path: 'r.limit.#text', default: 'd' },
        { name: 'indexed', path: 'r.owner.0.#text', default: 'd' },
        { name: 'repeated', path: 'r.item.1.#text', default: 'd' },
        { name: 'missing', path: 'r.nothing.#text', default: 'd' },
      ],
      '<r><owner>Ana</owner><balance currency="EUR">12.50</balance><note/><limit kind="soft"/>' +
        '<item>a</item><item>b</item></r>',
      {
        plain: 'Ana',
        withAttributes: '12.50',
        emptyPlain: '',
        emptyWithAttributes: '',
        indexed: 'Ana',
        repeated: 'b',
        missing: 'd',
      },
    );
  });

  it('decodes decimal and hexadecimal character references in text and attributes, once', () => {
    expectXml(
      [
        { name: 'name', path: 'r.name' },
        { name: 'city', path: 'r.name.@city' },
        { name: 'literal', path: 'r.literal' },
        { name: 'markup', path: 'r.markup' },
        { name: 'price', path: 'r.price' },
      ],
      '<r><name city="Montr&#xE9;al &#38; Qu&#233;bec">Ren&#233;e &#x1F600; &amp; Zo&#xeb;</name>' +
        '<literal>&amp;#233; &amp;lt;</literal><markup>&#60;b&#62;</markup>' +
        '<price>12&nbsp;&euro;</price></r>',
      {
        name: 'Renée 😀 & Zoë',
        city: 'Montréal & Québec',
        literal: '&#233; &lt;',
        markup: '<b>',
        price: '12\u00a0€',
      },
    );
  });

  it('does not expand nested DOCTYPE entities, and refuses an expansion past the limit', () => {
    const nested = mapXml(
      [{ name: 'b', path: 'r.b' }],
      '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' +
        '<r><b>&b;</b></r>',
    );
    expect(nested).toEqual({ values: { b: '&b;' } });
    const big = mapXml(
      [{ name: 'b', path: 'r.b', default: 'd' }],
      `<!DOCTYPE r [<!ENTITY a "${'x'.repeat(9000)}">]><r><b>${'&a;'.repeat(20)}</b></r>`,
    );
    expect(big.values).toEqual({ b: 'd' });
    expect(big.problem).toMatch(/could not be read as XML: .*limit/);
  });
});
