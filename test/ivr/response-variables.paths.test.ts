/**
 * The mapping from a response to IVR variables, by encoding: dotted paths and indexes into JSON,
 * XML from the root element with attributes and text addressable, SOAP results and envelopes,
 * the whole body for text; absent values give the default (or an empty string); values are
 * strings.
 */
import { describe, expect, it } from 'vitest';
import { expectMapped, expectXml, mapResponse } from './map-response.js';

describe('response variables', () => {
  it('reads dotted paths and array indexes into JSON, as strings', () => {
    const body = JSON.stringify({
      customer: { balance: 12.5, name: 'Ana', vip: true, note: null },
      items: [{ id: 'A-1' }, { id: 'A-2' }],
      tags: ['x', 'y'],
    });
    expectMapped(
      [
        { name: 'balance', path: 'customer.balance' },
        { name: 'name', path: 'customer.name' },
        { name: 'vip', path: 'customer.vip' },
        { name: 'first', path: 'items.0.id' },
        { name: 'second', path: 'items[1].id' },
        { name: 'tags', path: 'tags' },
        { name: 'note', path: 'customer.note', default: 'none' },
        { name: 'missing', path: 'customer.address.city', default: 'unknown' },
        { name: 'empty', path: 'items.5.id' },
        { name: 'whole', path: '' },
      ],
      { encoding: 'json', body },
      {
        balance: '12.5',
        name: 'Ana',
        vip: 'true',
        first: 'A-1',
        second: 'A-2',
        tags: '["x","y"]',
        note: 'none',
        missing: 'unknown',
        empty: '',
        whole: body,
      },
    );
  });

  it('reads a JSON integer past 2^53 as the digits sent, not rounded', () => {
    // An order id as a number: JSON.parse alone reads 12345678901234567000.
    const body =
      '{"orderId": 12345678901234567890, "items": [{"ref": -9007199254740993}], "safe": 9007199254740991, ' +
      '"price": 12.50, "note": "id 12345678901234567890", "esc": "q\\"12345678901234567890"}';
    expectMapped(
      [
        { name: 'orderId', path: 'orderId' },
        { name: 'ref', path: 'items.0.ref' },
        { name: 'items', path: 'items' },
        { name: 'safe', path: 'safe' },
        { name: 'price', path: 'price' },
        { name: 'note', path: 'note' },
        { name: 'esc', path: 'esc' },
      ],
      { encoding: 'json', body },
      {
        orderId: '12345678901234567890',
        ref: '-9007199254740993',
        items: '[{"ref":-9007199254740993}]',
        safe: '9007199254740991',
        price: '12.5',
        note: 'id 12345678901234567890',
        esc: 'q"12345678901234567890',
      },
    );
    expectMapped(
      [{ name: 'whole', path: '' }],
      { encoding: 'json', body: '98765432109876543210' },
      {
        whole: '98765432109876543210',
      },
    );
    // A repeated key: the last one, as JSON.parse reads it.
    expectMapped(
      [{ name: 'id', path: 'id' }],
      { encoding: 'json', body: '{"id": 1, "id": 12345678901234567890}' },
      { id: '12345678901234567890' },
    );
    // Not JSON: the parser's message, positions as sent.
    const cut = mapResponse([{ name: 'id', path: 'id' }], {
      encoding: 'json',
      body: '{"id": 12345678901234567890',
    });
    expect(cut.problem).toMatch(/not valid JSON: .*position 27/);
  });

  it('does not read inherited properties of JSON objects', () => {
    const { values } = mapResponse([{ name: 'x', path: 'a.constructor', default: '-' }], {
      encoding: 'json',
      body: '{"a": {}}',
    });
    expect(values).toEqual({ x: '-' });
  });

  it('gives defaults and names the problem when the body is not valid JSON', () => {
    const result = mapResponse([{ name: 'balance', path: 'balance', default: '0' }], {
      encoding: 'json',
      body: '<html>oops</html>',
    });
    expect(result.values).toEqual({ balance: '0' });
    expect(result.problem).toMatch(/not valid JSON/);
  });

  it('reads XML from the root element, with attributes, text and repeated elements', () => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>
      <ns:r xmlns:ns="urn:bank">
        <ns:account id="007">
          <ns:balance currency="EUR">0012.50</ns:balance>
          <ns:owner>Ana &amp; Bo</ns:owner>
          <ns:item><ns:id>I-1</ns:id></ns:item>
          <ns:item><ns:id>I-2</ns:id></ns:item>
          <ns:single><ns:id>S-1</ns:id></ns:single>
        </ns:account>
      </ns:r>`;
    expectXml(
      [
        { name: 'balance', path: 'r.account.balance' },
        { name: 'text', path: 'r.account.balance.#text' },
        { name: 'currency', path: 'r.account.balance.@currency' },
        { name: 'account', path: 'r.account.@id' },
        { name: 'owner', path: 'r.account.owner' },
        { name: 'second', path: 'r.account.item.1.id' },
        { name: 'single', path: 'r.account.single.0.id' },
        { name: 'missing', path: 'r.account.overdraft', default: 'no' },
      ],
      body,
      {
        balance: '0012.50',
        text: '0012.50',
        currency: 'EUR',
        account: '007',
        owner: 'Ana & Bo',
        second: 'I-2',
        single: 'S-1',
        missing: 'no',
      },
    );
  });

  it('names the line and column of invalid XML and gives defaults', () => {
    const result = mapResponse([{ name: 'b', path: 'r.b', default: 'x' }], {
      encoding: 'xml',
      body: '<r>\n<b>1</c></r>',
    });
    expect(result.values).toEqual({ b: 'x' });
    expect(result.problem).toMatch(/not valid XML: .*line 2/);
  });

  it('says where XML without a root element fails, and keeps a parser message to one line (found by response-variables.fuzz)', () => {
    const variables = [{ name: 'b', path: 'r.b', default: 'x' }];
    expect(mapResponse(variables, { encoding: 'xml', body: '<?xml version="1.0"?>' })).toEqual({
      values: { b: 'x' },
      problem: 'the body is not valid XML: Start tag expected. (line 1, column 1)',
    });
    // The validator quotes every unclosed tag: 175 KB of message for these 64 KiB.
    const unclosed = mapResponse(variables, {
      encoding: 'xml',
      body: '<r>' + '<a>'.repeat(21_844),
    });
    expect(unclosed.values).toEqual({ b: 'x' });
    expect(unclosed.problem).toMatch(
      /^the body is not valid XML: Invalid '\[.*… \(line 1, column \d+\)$/s,
    );
    expect(unclosed.problem!.length).toBeLessThan(300);
  });

  it('says where a last tag cut before its `>` is, which the validator lets through and the parser refuses', () => {
    const variables = [{ name: 'b', path: 'r.b', default: 'x' }];
    expect(mapResponse(variables, { encoding: 'xml', body: '<r/' })).toEqual({
      values: { b: 'x' },
      problem:
        "the body is not valid XML: Tag 'r' is not closed: the document ends before its '>'. (line 1, column 1)",
    });
    expect(
      mapResponse(variables, {
        encoding: 'xml',
        body: '<?xml version="1.0"?>\n<r>\n  <b>1</b>\n</r>\n  <c a="1 > 0"/',
      }).problem,
    ).toBe(
      "the body is not valid XML: Tag 'c' is not closed: the document ends before its '>'. (line 5, column 3)",
    );
    // A whole empty-element tag is still read.
    expectXml(variables, '<r><b/></r>', { b: '' });
  });

  it('says where content after the root element is, which the validator lets through and the parser ignores', () => {
    const variables = [{ name: 'b', path: 'r.b', default: 'x' }];
    const after = (what: string) =>
      `${what} after the root element 'r': only white space, comments and processing instructions may follow it.`;
    const cases: [body: string, problem: string][] = [
      ['<r><b>1</b></r>trailing', 'Extra text at the end (line 1, column 16)'],
      ['<r/>x', `${after('Text')} (line 1, column 5)`],
      ['<?xml version="1.0"?>\n<r b="1"/>\n  &amp;', `${after('Text')} (line 3, column 3)`],
      ['<r><b>1</b></r>\n<s/>', `${after("A second root element 's'")} (line 2, column 1)`],
      ['<r/><r><b>2</b></r>', `${after("A second root element 'r'")} (line 1, column 5)`],
      ['<r/><![CDATA[x]]>', `${after('A CDATA section')} (line 1, column 5)`],
      ['<r/>\n<!DOCTYPE r>', `${after('A declaration')} (line 2, column 1)`],
      [
        '<r/><?xml version="1.0"?>',
        "An XML declaration after the root element 'r': it may only start the document. (line 1, column 5)",
      ],
      [
        '<r/>\n<!-- done',
        "The comment after the root element 'r' is not closed: the document ends inside it. (line 2, column 1)",
      ],
    ];
    for (const [body, problem] of cases) {
      expect(mapResponse(variables, { encoding: 'xml', body }), body).toEqual({
        values: { b: 'x' },
        problem: `the body is not valid XML: ${problem}`,
      });
    }
    // White space, comments and processing instructions may follow the root (XML 1.0 `Misc`).
    expectXml(
      variables,
      '<?xml version="1.0"?>\n<r><b>1</b></r>\r\n\t<!-- served by b1 -->\n<?audit id="7"?>\n',
      { b: '1' },
    );
    expectXml(variables, '<r b="/>"><b>2</b><![CDATA[</r>]]><!-- </r> --></r>', { b: '2' });
    // A response is read, not sent on: a '--' divider in a comment, which a template body may not
    // hold (save-validation.reports-every-problem.test.ts), does not stop it.
    expectXml(variables, '<!-- ---------- -->\n<r><!-- a -- b --><b>3</b></r>', { b: '3' });
  });

  it('reads elements named like the properties every object has', () => {
    const names = [
      'constructor',
      'prototype',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'valueOf',
    ];
    for (const name of names) {
      const body = `<r><b>1</b><${name} unit="x">v</${name}><__${name}>u</__${name}></r>`;
      expectXml(
        [
          { name: 'b', path: 'r.b', default: 'd' },
          { name: 'named', path: `r.${name}`, default: 'd' },
          { name: 'unit', path: `r.${name}.@unit`, default: 'd' },
          // fast-xml-parser's own renaming (`__toString`) would have made these two one.
          { name: 'prefixed', path: `r.__${name}`, default: 'd' },
          { name: 'whole', path: 'r' },
        ],
        body,
        {
          b: '1',
          named: 'v',
          unit: 'x',
          prefixed: 'u',
          whole: JSON.stringify({
            b: '1',
            [name]: { '#text': 'v', '@unit': 'x' },
            [`__${name}`]: 'u',
          }),
        },
      );
      // SOAP paths from `Envelope` read the raw envelope as XML, the same way.
      expectMapped(
        [{ name: 'named', path: `Envelope.r.${name}`, default: 'd' }],
        {
          encoding: 'soap',
          body: `<s:Envelope xmlns:s="urn:s">${body}</s:Envelope>`,
          soapResult: {},
        },
        { named: 'v' },
      );
    }
    // Not inherited: an element without such a child finds nothing.
    expectXml([{ name: 'x', path: 'r.toString', default: '-' }], '<r><b>1</b></r>', { x: '-' });
  });

  it('gives the whole body, trimmed, for text, whatever the path', () => {
    const { values } = mapResponse(
      [
        { name: 'answer', path: '' },
        { name: 'same', path: 'ignored.path' },
      ],
      { encoding: 'text', body: '  12.50\n' },
    );
    expect(values).toEqual({ answer: '12.50', same: '12.50' });
    expect(
      mapResponse([{ name: 'a', path: '', default: 'd' }], { encoding: 'text', body: '' }).values,
    ).toEqual({ a: 'd' });
  });

  it('reads the SOAP result object, or the envelope as XML for paths from Envelope', () => {
    const envelope =
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
      '<GetBalanceResponse xmlns="urn:t"><GetBalanceResult>12.50</GetBalanceResult></GetBalanceResponse>' +
      '</soap:Body></soap:Envelope>';
    const { values } = mapResponse(
      [
        { name: 'typed', path: 'GetBalanceResult' },
        { name: 'exact', path: 'Envelope.Body.GetBalanceResponse.GetBalanceResult' },
        { name: 'ticket', path: 'Ticket.Id' },
        { name: 'attr', path: 'Ticket.attributes.kind' },
        { name: 'when', path: 'When' },
      ],
      {
        encoding: 'soap',
        body: envelope,
        soapResult: {
          GetBalanceResult: 12.5,
          Ticket: { attributes: { kind: 'new' }, Id: 'T-1' },
          When: new Date('2026-11-27T10:00:00Z'),
        },
      },
    );
    expect(values).toEqual({
      typed: '12.5',
      exact: '12.50',
      ticket: 'T-1',
      attr: 'new',
      when: '2026-11-27T10:00:00.000Z',
    });
  });
});
