/** Each filter of docs/templating.md, on present, missing and odd values. */
import { describe, expect, it } from 'vitest';
import { compileTemplate, type TemplateContext } from '../../src/template/compile.js';
import type { RenderScope } from '../../src/template/scope.js';

const scope: RenderScope = {
  call: {
    id: 'c-9',
    duration: 42,
    startedAt: '2026-11-27T09:59:10.250Z',
    status: 'answered',
  },
  contact: {
    phone: '+1 (555) 123-4567',
    firstName: '  Ana María ',
    email: '',
    custom: { plan: 'gold', nested: { a: [1, 'x'] }, localPhone: '06 12 34 56 78' },
  },
  system: { now: '2026-11-27T10:00:01.000Z', timestamp: 1795773601 },
};

const render = (source: string, context: TemplateContext = 'text', defaultCountry?: string) => {
  const result = compileTemplate(source, context, {
    field: 'f',
    ...(defaultCountry === undefined ? {} : { defaultCountry }),
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  const rendered = result.template.render(scope);
  if (!rendered.ok) throw new Error(rendered.error.message);
  return rendered.value;
};

describe('filters', () => {
  it('default: replaces a missing or empty value, keeps a present one, numbers stay numbers in JSON', () => {
    expect(render('{{contact.email | default:"none"}}')).toBe('none');
    expect(render('{{contact.lastName | default:"none"}}')).toBe('none');
    expect(render('{{call.status | default:"none"}}')).toBe('answered');
    expect(render('{"d": {{call.billsec | default:0}}}', 'json')).toBe('{"d": 0}');
    expect(render('{{contact.lastName}}|{{contact.email}}')).toBe('|');
  });

  it('json: a JSON literal, outside or inside a JSON string', () => {
    expect(render('{"c": {{contact.custom | json}}}', 'json')).toBe(
      '{"c": {"plan":"gold","nested":{"a":[1,"x"]},"localPhone":"06 12 34 56 78"}}',
    );
    expect(render('{"c": "{{contact.custom.plan | json}}"}', 'json')).toBe('{"c": "\\"gold\\""}');
    expect(render('{{call.duration | json}} {{contact.lastName | json}}')).toBe('42 null');
    // Without a filter, a token outside quotes is still a JSON literal.
    expect(render('[{{call.duration}}, {{call.status}}, {{contact.lastName}}]', 'json')).toBe(
      '[42, "answered", null]',
    );
  });

  it('date: iso, epoch, epochMs, patterns, time zones; unreadable is missing', () => {
    expect(render('{{call.startedAt | date:"iso"}}')).toBe('2026-11-27T09:59:10.250Z');
    expect(render('{{call.startedAt | date}}')).toBe('2026-11-27T09:59:10.250Z');
    expect(render('{{call.startedAt | date:"epoch"}}')).toBe('1795773550');
    expect(render('{{call.startedAt | date:"epochMs"}}')).toBe('1795773550250');
    expect(render('{"at": {{call.startedAt | date:"epoch"}}}', 'json')).toBe('{"at": 1795773550}');
    expect(render('{{call.startedAt | date:"DD/MM/YYYY [at] h:mm A ZZ"}}')).toBe(
      '27/11/2026 at 9:59 AM +0000',
    );
    expect(render('{{call.startedAt | date:"YYYY-MM-DDTHH:mm:ssZ","America/New_York"}}')).toBe(
      '2026-11-27T04:59:10-05:00',
    );
    expect(render('{{call.startedAt | date:"iso","Asia/Kolkata"}}')).toBe(
      '2026-11-27T15:29:10.250+05:30',
    );
    expect(render('{{system.timestamp | date:"iso"}}')).toBe('2026-11-27T10:00:01.000Z');
    expect(render('{{call.status | date:"iso" | default:"n/a"}}')).toBe('n/a');
  });

  it('date: an instant beyond the years a Date holds is missing, with or without a time zone (found by compile.fuzz)', () => {
    const renderWith = (source: string, startedAt: unknown) => {
      const result = compileTemplate(source, 'text', { field: 'f' });
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      return result.template.render({ call: { startedAt } });
    };
    for (const startedAt of ['99999999999999999999', 1.7976931348623157e308, -9e12]) {
      for (const format of [
        '"YYYY-MM-DD HH:mm:ss Z","Europe/Paris"',
        '"iso","America/New_York"',
        '"iso"',
        '"epoch"',
      ]) {
        expect(
          renderWith(`{{call.startedAt | date:${format} | default:"n/a"}}`, startedAt),
        ).toEqual({
          ok: true,
          value: 'n/a',
        });
      }
    }
    // The last day a Date holds is missing as well: in a zone ahead of UTC its wall time is not a
    // Date, and the pattern read NaN-NaN-NaN. The day before still reads.
    for (const zone of ['"Asia/Kolkata"', '"UTC"']) {
      for (const lastDay of [8_639_999_980_201, '+275760-09-13T00:00:00Z']) {
        expect(
          renderWith(`{{call.startedAt | date:"iso",${zone} | default:"n/a"}}`, lastDay),
        ).toEqual({ ok: true, value: 'n/a' });
      }
    }
    expect(renderWith('{{call.startedAt | date:"iso","Asia/Kolkata"}}', 8.64e12 - 86_400)).toEqual({
      ok: true,
      value: '275760-09-12T05:30:00.000+05:30',
    });
  });

  it('date: a year before 100, or before year 1, keeps its number in a time zone', () => {
    const renderWith = (startedAt: string, zone: string) => {
      const result = compileTemplate(`{{call.startedAt | date:"iso","${zone}"}}`, 'text', {
        field: 'f',
      });
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      return result.template.render({ call: { startedAt } });
    };
    // Date.UTC reads years 0–99 as 1900–1999: the offset came out 1900 years long
    // (`1950-06-01T15:00:00.000+16655043:00`). Year 0 is 1 BC, a leap year.
    const cases: [string, string, string][] = [
      ['0050-06-01T12:00:00Z', 'Etc/GMT-3', '0050-06-01T15:00:00.000+03:00'],
      ['0099-12-31T23:00:00Z', 'Etc/GMT-3', '0100-01-01T02:00:00.000+03:00'],
      ['0001-01-01T02:00:00Z', 'Etc/GMT+5', '0000-12-31T21:00:00.000-05:00'],
      ['0000-03-01T00:00:00Z', 'Etc/GMT+5', '0000-02-29T19:00:00.000-05:00'],
      ['0000-01-01T00:00:00Z', 'Etc/GMT+5', '-000001-12-31T19:00:00.000-05:00'],
      ['0050-06-01T12:00:00Z', 'Europe/Paris', '0050-06-01T12:09:00.000+00:09'],
      ['2026-07-01T00:00:00Z', 'Europe/Paris', '2026-07-01T02:00:00.000+02:00'],
    ];
    for (const [startedAt, zone, value] of cases)
      expect(renderWith(startedAt, zone), `${startedAt} ${zone}`).toEqual({ ok: true, value });
  });

  it('date: an RFC 3339 time that is not on the calendar or the clock is missing, not rolled over', () => {
    const renderWith = (startedAt: string) => {
      const result = compileTemplate('{{call.startedAt | date:"iso" | default:"n/a"}}', 'text', {
        field: 'f',
      });
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      return result.template.render({ call: { startedAt } });
    };
    // Date.parse read the first as March 2 and the second as the next day.
    for (const startedAt of [
      '2026-02-30T10:00:00Z',
      '2026-11-27T24:00:00Z',
      '2026-11-27T10:61:00Z',
    ]) {
      expect(renderWith(startedAt), startedAt).toEqual({ ok: true, value: 'n/a' });
    }
    expect(renderWith('2028-02-29T10:00:00+01:00')).toEqual({
      ok: true,
      value: '2028-02-29T09:00:00.000Z',
    });
  });

  it('date: RFC 3339 spelled with a space or lower case, or with no offset (read as UTC); other spellings missing', () => {
    const renderWith = (startedAt: string, tz = '') => {
      const result = compileTemplate(
        `{{call.startedAt | date:"YYYY-MM-DD HH:mm:ss"${tz} | default:"n/a"}}`,
        'text',
        { field: 'f' },
      );
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      return result.template.render({ call: { startedAt } });
    };
    const cases: [string, string][] = [
      ['2026-11-27 10:30:05Z', '2026-11-27 10:30:05'],
      ['2026-11-27t10:30:05z', '2026-11-27 10:30:05'],
      ['2026-11-27 10:30:05+01:00', '2026-11-27 09:30:05'],
      // No offset: the wall time comes out as it went in, whatever the server's time zone.
      ['2026-11-27 10:30', '2026-11-27 10:30:00'],
      ['2026-11-27T10:30:05.250', '2026-11-27 10:30:05'],
      ['2026-11-27', '2026-11-27 00:00:00'],
      // Not on the calendar, or no RFC 3339 spelling at all (Date.parse read these in the
      // server's own time zone, or rolled them over).
      ['2026-02-30', 'n/a'],
      ['2026-11-27 24:00', 'n/a'],
      ['11/27/2026 10:30', 'n/a'],
      ['Fri Nov 27 2026 10:30:00', 'n/a'],
      ['2026-11-27T10:30:05 +01:00', 'n/a'],
    ];
    for (const [startedAt, value] of cases)
      expect(renderWith(startedAt), startedAt).toEqual({ ok: true, value });
    expect(renderWith('2026-11-27 10:30', ',"Europe/Paris"')).toEqual({
      ok: true,
      value: '2026-11-27 11:30:00',
    });
  });

  it('upper, lower, trim', () => {
    expect(render('{{contact.firstName | upper}}')).toBe('  ANA MARÍA ');
    expect(render('{{contact.firstName | lower}}')).toBe('  ana maría ');
    expect(render('[{{contact.firstName | trim}}]')).toBe('[Ana María]');
    expect(render('{{contact.lastName | upper | default:"-"}}')).toBe('-');
  });

  it('digits: a phone number without punctuation', () => {
    expect(render('{{contact.phone | digits}}')).toBe('15551234567');
  });

  it('e164: international as is, national numbers in the default or given country, else missing', () => {
    expect(render('{{contact.phone | e164}}')).toBe('+15551234567');
    expect(render('{{contact.custom.localPhone | e164:"FR"}}')).toBe('+33612345678');
    expect(render('{{contact.custom.localPhone | e164}}', 'text', 'FR')).toBe('+33612345678');
    expect(render('{{contact.custom.localPhone | e164 | default:"?"}}')).toBe('?');
    expect(render('{{call.status | e164 | default:"?"}}', 'text', 'US')).toBe('?');
  });

  it('urlencode: encoded once, also in a URL or a form body', () => {
    expect(render('{{contact.phone | urlencode}}')).toBe('%2B1%20%28555%29%20123-4567');
    expect(render('https://x.example/?p={{contact.phone | urlencode}}', 'url')).toBe(
      'https://x.example/?p=%2B1%20%28555%29%20123-4567',
    );
    expect(render('p={{contact.phone | urlencode}}', 'form')).toBe('p=%2B1%20%28555%29%20123-4567');
    expect(render('{"u": "{{contact.phone | urlencode}}"}', 'json')).toBe(
      '{"u": "%2B1%20%28555%29%20123-4567"}',
    );
  });

  it('raw: pasted without escaping, where the user asked for it', () => {
    expect(render('<a>{{contact.custom.plan | raw}}{{"<b/>" | raw}}</a>', 'xml')).toBe(
      '<a>gold<b/></a>',
    );
    expect(render('{"x": {{"[1, 2]" | raw}}}', 'json')).toBe('{"x": [1, 2]}');
  });

  it('filters chain left to right', () => {
    expect(render('{{contact.firstName | trim | upper | default:"X"}}')).toBe('ANA MARÍA');
  });

  it('reads own properties only: nothing outside the event', () => {
    expect(render('[{{contact.custom.constructor}}{{contact.custom.__proto__}}]')).toBe('[]');
    expect(render('[{{contact.custom.toString | default:"none"}}]')).toBe('[none]');
  });
});
