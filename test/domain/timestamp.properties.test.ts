import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTimestamp, timestampProblem } from '../../src/domain/call-event.js';

const two = (n: number) => String(n).padStart(2, '0');

/** A timestamp as RFC 3339 writes it: any year 0000–9999, seconds and fraction optional. */
const rfc3339 = fc
  .record({
    ms: fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }),
    seconds: fc.boolean(),
    fraction: fc.stringMatching(/^\d{0,7}$/),
    offset: fc.option(
      fc.record({
        sign: fc.constantFrom('+', '-'),
        hour: fc.integer({ min: 0, max: 23 }),
        minute: fc.integer({ min: 0, max: 59 }),
      }),
    ),
  })
  .map(({ ms, seconds, fraction, offset }) => {
    const shift =
      offset === null
        ? 0
        : (offset.sign === '+' ? 1 : -1) * (offset.hour * 60 + offset.minute) * 60_000;
    const wall = new Date(ms + shift).toISOString();
    if (wall.startsWith('+') || wall.startsWith('-')) return undefined;
    const base =
      wall.slice(0, 16) +
      (seconds ? wall.slice(16, 19) + (fraction === '' ? '' : `.${fraction}`) : '');
    return (
      base + (offset === null ? 'Z' : `${offset.sign}${two(offset.hour)}:${two(offset.minute)}`)
    );
  })
  .filter((text): text is string => text !== undefined);

describe('RFC 3339 timestamps (occurredAt, replay since, the date filter)', () => {
  it('reads every well-formed one as Date.parse does', () => {
    fc.assert(
      fc.property(rfc3339, (text) => {
        expect(timestampProblem(text)).toBeUndefined();
        expect(parseTimestamp(text)).toBe(Date.parse(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('names what is wrong with one off the calendar or the clock, and refuses other spellings', () => {
    expect(timestampProblem('2026-02-29T10:00:00Z')).toBe(
      'has no day 29 in 2026-02: that month has 28 days',
    );
    expect(parseTimestamp('2028-02-29T10:00:00Z')).toBe(Date.UTC(2028, 1, 29, 10));
    expect(timestampProblem('2026-13-01T10:00:00+24:00')).toBe(
      'has no month 13: months run from 01 to 12',
    );
    expect(timestampProblem('2026-11-27T10:00:00+24:00')).toBe(
      'has no UTC offset +24:00: offsets run from -23:59 to +23:59',
    );
    expect(timestampProblem('2026-11-27T23:59:60Z')).toBe(
      'has no second 60: seconds run from 00 to 59',
    );
    // Years before 100 are not the 1900s (Date.UTC's reading of 0–99).
    expect(parseTimestamp('0050-01-01T00:00:00Z')).toBe(Date.parse('0050-01-01T00:00:00Z'));
    // RFC 3339 §5.6: "T" and "Z" may be written in lower case.
    expect(parseTimestamp('2026-11-27t10:00:00z')).toBe(Date.UTC(2026, 10, 27, 10));
    expect(parseTimestamp('2026-11-27t10:00:00.5-02:00')).toBe(
      Date.UTC(2026, 10, 27, 12, 0, 0, 500),
    );
    for (const text of [
      '2026-11-27T10:00:00',
      '2026-11-27 10:00:00Z',
      '2026-11-27T10:00:00.Z',
      '2026-11-27T10:00:00Z ',
      '2026-11-27T10:00:00+0100',
      '2026-11-27T1:00:00Z',
      '26-11-27T10:00:00Z',
      '2026-11-27T10:00:00ZZ',
      '２０２６-11-27T10:00:00Z',
    ])
      expect(timestampProblem(text), text).toBe(
        'must be an RFC 3339 date-time like 2026-11-27T10:00:00Z',
      );
  });
});
