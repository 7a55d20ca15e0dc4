import { describe, expect, it } from 'vitest';
import { bodySnippet, bodyText, decodeBody } from '../../src/transport/body-text.js';
import { charsetOf } from '../../src/domain/media-type.js';

// A body kept only in part ends at a whole character, never in U+FFFD.
describe('bodyText', () => {
  it('keeps a body within the limit as it is', () => {
    expect(bodyText(Buffer.from('añb'), 4)).toEqual({ text: 'añb', truncated: false });
    expect(bodyText('añb', 4)).toEqual({ text: 'añb', truncated: false });
    expect(bodyText('', 0)).toEqual({ text: '', truncated: false });
  });

  it('leaves out a character the limit splits, from bytes and from text', () => {
    // `é` is 2 bytes, `€` 3, `😀` 4: a limit inside each leaves it out whole.
    for (const [char, bytes] of [
      ['é', 2],
      ['€', 3],
      ['😀', 4],
    ] as const) {
      for (let inside = 1; inside < bytes; inside += 1) {
        const body = `ab${char}cd`;
        const expected = { text: 'ab', truncated: true };
        expect(bodyText(Buffer.from(body), 2 + inside), `${char} cut after ${inside}`).toEqual(
          expected,
        );
        expect(bodyText(body, 2 + inside)).toEqual(expected);
      }
      expect(bodyText(`ab${char}cd`, 2 + bytes)).toEqual({ text: `ab${char}`, truncated: true });
    }
  });

  it('says a body the client already cut is truncated, and still ends it whole', () => {
    const start = Buffer.from('abé').subarray(0, 3);
    expect(bodyText(start, 1024, true)).toEqual({ text: 'ab', truncated: true });
    expect(bodyText('abc', 1024, true)).toEqual({ text: 'abc', truncated: true });
  });

  it('decodes the charset it is given, or an XML declaration names, and UTF-8 otherwise', () => {
    const latin1 = Buffer.from('Montréal', 'latin1');
    expect(bodyText(latin1, 1024, false, 'ISO-8859-1')).toEqual({
      text: 'Montréal',
      truncated: false,
    });
    expect(bodyText(latin1, 1024, false, 'windows-1252').text).toBe('Montréal');
    // Windows-1252's 0x80–0x9F, under each of its labels, whole or cut (the platform's decoder
    // gave C1 control characters for them when not streaming).
    const quoted = Buffer.from([0x93, 0x80, 0x35, 0x94, 0x8a]);
    for (const label of ['windows-1252', 'ISO-8859-1', 'latin1'])
      expect(bodyText(quoted, 1024, false, label).text, label).toBe('“€5”Š');
    expect(bodyText(quoted, 4, false, 'windows-1252')).toEqual({ text: '“€5”', truncated: true });
    const declared = Buffer.from('<?xml version="1.0" encoding=\'iso-8859-1\'?><r>é</r>', 'latin1');
    expect(bodyText(declared, 1024).text).toBe(
      '<?xml version="1.0" encoding=\'iso-8859-1\'?><r>é</r>',
    );
    // The Content-Type's charset wins over the declaration.
    const utf8Declared = Buffer.from('<?xml version="1.0" encoding="iso-8859-1"?><r>é</r>');
    expect(bodyText(utf8Declared, 1024, false, 'utf-8').text).toContain('<r>é</r>');
    // Bytes that spell `<?xml` are not UTF-16, whatever the declaration says (.NET writes
    // `encoding="utf-16"` over text it sends as UTF-8); a Content-Type naming UTF-16 is followed.
    for (const label of ['utf-16', 'UTF-16LE', 'utf-16be']) {
      const utf16Declared = Buffer.from(`<?xml version="1.0" encoding="${label}"?><r>é</r>`);
      expect(bodyText(utf16Declared, 1024).text, label).toContain('<r>é</r>');
      expect(decodeBody(utf16Declared), label).toContain('<r>é</r>');
    }
    expect(decodeBody(Buffer.from('<r>é</r>', 'utf16le'), 'utf-16le')).toBe('<r>é</r>');
    // A label nobody knows, or ASCII (a subset of UTF-8), reads as UTF-8.
    expect(bodyText(Buffer.from('é'), 1024, false, 'x-unknown').text).toBe('é');
    expect(bodyText(Buffer.from('é'), 1024, false, 'us-ascii').text).toBe('é');
    // A multi-byte legacy character the cut splits is left out whole, as for UTF-8.
    const sjis = Buffer.from([0x61, 0x82, 0xa0]); // `a`, then `あ` in Shift_JIS
    expect(bodyText(sjis, 2, false, 'shift_jis')).toEqual({ text: 'a', truncated: true });
    expect(bodyText(sjis, 3, false, 'shift_jis')).toEqual({ text: 'aあ', truncated: false });
    expect(charsetOf('text/plain; charset="ISO-8859-1"')).toBe('ISO-8859-1');
    expect(charsetOf('application/json;charset=utf-8; q=1')).toBe('utf-8');
    expect(charsetOf('application/json')).toBeUndefined();
  });

  it('reads a body by its byte order mark, whatever the charset says (the Encoding Standard)', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<r>é</r>', 'utf16le')]);
    const be = Buffer.from(le.subarray(2)).swap16();
    const withBe = Buffer.concat([Buffer.from([0xfe, 0xff]), be]);
    for (const charset of [undefined, 'utf-8', 'windows-1252']) {
      expect(bodyText(le, 1024, false, charset).text, `LE, ${charset}`).toBe('<r>é</r>');
      expect(bodyText(withBe, 1024, false, charset).text, `BE, ${charset}`).toBe('<r>é</r>');
      expect(decodeBody(le, charset), `LE, ${charset}`).toBe('<r>é</r>');
    }
    const utf8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<r>é</r>')]);
    expect(decodeBody(utf8, 'windows-1252')).toBe('<r>é</r>');
    expect(bodyText(utf8, 1024, false, 'iso-8859-1').text).toBe('\uFEFF<r>é</r>');
  });

  it('shows bytes that are not UTF-8 inside the kept part as U+FFFD, as a decoder does', () => {
    const body = Buffer.from([0x61, 0xff, 0x62]);
    expect(bodyText(body, 3)).toEqual({ text: 'a\uFFFDb', truncated: false });
    // Complete but invalid at the end of a whole body: not held back.
    expect(bodyText(Buffer.from([0x61, 0xc3]), 2)).toEqual({ text: 'a\uFFFD', truncated: false });
  });
});

// A body quoted in a message: one line, 200 characters, never half a UTF-16 pair.
describe('bodySnippet', () => {
  it('puts the body on one line and keeps up to 200 characters as they are', () => {
    expect(bodySnippet('  <html>\n\t<body>down</body>\r\n</html> ')).toBe(
      '<html> <body>down</body> </html>',
    );
    expect(bodySnippet('a'.repeat(200))).toBe('a'.repeat(200));
  });

  it('ends a longer body at a whole character', () => {
    const emoji = '\u{1F600}';
    // The cut at 200 falls inside the pair: the emoji is left out.
    expect(bodySnippet(`${'a'.repeat(199)}${emoji}b`)).toBe(`${'a'.repeat(199)}…`);
    // The pair ends at 200: kept whole.
    expect(bodySnippet(`${'a'.repeat(198)}${emoji}b`)).toBe(`${'a'.repeat(198)}${emoji}…`);
  });
});
