/**
 * The `date` filter's formats, compiled once: `iso`, `epoch`, `epochMs`, or a pattern such as
 * `YYYY-MM-DD HH:mm:ss` in UTC or in a named time zone.
 */
import { rfc3339Instant } from '../domain/call-event.js';

export type DateFormatter = (ms: number) => string | number;

/** Pattern letters; everything else that is a letter must be bracketed (`[at]`), except `T`. */
const PATTERN = /\[([^\]]*)\]|YYYY|YY|MM|M|DD|D|HH|H|hh|h|mm|m|ss|s|SSS|A|a|ZZ|Z|X|x|T|[A-Za-z]/g;

export const DATE_PATTERN_LETTERS =
  'YYYY YY MM M DD D HH H hh h mm m ss s SSS A a Z ZZ X x; [text] is literal';

interface Fields {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  ms: number;
  /** Offset from UTC in minutes. */
  offset: number;
  epoch: number;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function offsetText(minutes: number, colon: boolean): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}${colon ? ':' : ''}${pad(abs % 60)}`;
}

const PIECES: Record<string, (f: Fields) => string> = {
  // Before year 0 as toISOString writes it: a sign and six digits.
  YYYY: (f) => (f.y < 0 ? `-${pad(-f.y, 6)}` : pad(f.y, 4)),
  YY: (f) => pad(((f.y % 100) + 100) % 100),
  MM: (f) => pad(f.mo),
  M: (f) => String(f.mo),
  DD: (f) => pad(f.d),
  D: (f) => String(f.d),
  HH: (f) => pad(f.h),
  H: (f) => String(f.h),
  hh: (f) => pad(f.h % 12 === 0 ? 12 : f.h % 12),
  h: (f) => String(f.h % 12 === 0 ? 12 : f.h % 12),
  mm: (f) => pad(f.mi),
  m: (f) => String(f.mi),
  ss: (f) => pad(f.s),
  s: (f) => String(f.s),
  SSS: (f) => pad(f.ms, 3),
  A: (f) => (f.h < 12 ? 'AM' : 'PM'),
  a: (f) => (f.h < 12 ? 'am' : 'pm'),
  Z: (f) => offsetText(f.offset, true),
  ZZ: (f) => offsetText(f.offset, false),
  X: (f) => String(Math.floor(f.epoch / 1000)),
  x: (f) => String(f.epoch),
  T: () => 'T',
};

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** Date#toISOString, written out: it is twice as fast, and `date:"iso"` is on the hot path. */
function isoUtc(ms: number): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (year < 1000 || year > 9999) return d.toISOString();
  return `${year}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${pad3(d.getUTCMilliseconds())}Z`;
}

/** Offset of `timeZone` from UTC at instant `ms`, in minutes. */
function zoneOffset(format: Intl.DateTimeFormat, ms: number): number {
  const parts: Record<string, number> = {};
  let beforeChrist = false;
  for (const part of format.formatToParts(ms)) {
    if (part.type === 'era') beforeChrist = part.value === 'BC';
    else if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  // The era's year 1 BC is year 0 of the proleptic calendar a Date counts in.
  const year = beforeChrist ? 1 - (parts['year'] ?? 1) : (parts['year'] ?? 1970);
  const month = (parts['month'] ?? 1) - 1;
  const day = parts['day'] ?? 1;
  const hour = parts['hour'] ?? 0;
  const minute = parts['minute'] ?? 0;
  const second = parts['second'] ?? 0;
  let wall: number;
  if (year >= 100) wall = Date.UTC(year, month, day, hour, minute, second);
  else {
    // Date.UTC reads years 0–99 as 1900–1999; setUTCFullYear takes them as they are.
    const date = new Date(0);
    date.setUTCFullYear(year, month, day);
    wall = date.setUTCHours(hour, minute, second, 0);
  }
  return Math.round((wall - (ms - (((ms % 1000) + 1000) % 1000))) / 60_000);
}

function fieldsOf(ms: number, zone: Intl.DateTimeFormat | undefined): Fields {
  const offset = zone === undefined ? 0 : zoneOffset(zone, ms);
  const local = new Date(ms + offset * 60_000);
  return {
    y: local.getUTCFullYear(),
    mo: local.getUTCMonth() + 1,
    d: local.getUTCDate(),
    h: local.getUTCHours(),
    mi: local.getUTCMinutes(),
    s: local.getUTCSeconds(),
    ms: local.getUTCMilliseconds(),
    offset,
    epoch: ms,
  };
}

/** A formatter, or a message saying what is wrong with the format or the time zone. */
export function compileDateFormat(
  format: string,
  timeZone: string | undefined,
): DateFormatter | { error: string } {
  let zone: Intl.DateTimeFormat | undefined;
  if (timeZone !== undefined && timeZone !== 'UTC') {
    try {
      zone = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        era: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      return { error: `unknown time zone "${timeZone}" (use an IANA name such as "Europe/Paris")` };
    }
  }
  if (format === 'epoch') return (ms) => Math.floor(ms / 1000);
  if (format === 'epochMs') return (ms) => ms;
  if (format === 'iso') {
    if (zone === undefined) return isoUtc;
    format = 'YYYY-MM-DDTHH:mm:ss.SSSZ';
  }
  const pieces: ((f: Fields) => string)[] = [];
  let last = 0;
  for (const match of format.matchAll(PATTERN)) {
    const index = match.index;
    if (index > last) {
      const text = format.slice(last, index);
      pieces.push(() => text);
    }
    last = index + match[0].length;
    if (match[1] !== undefined) {
      const text = match[1];
      pieces.push(() => text);
      continue;
    }
    const piece = PIECES[match[0]];
    if (piece === undefined) {
      return {
        error: `unknown date pattern letter "${match[0]}" in "${format}": use "iso", "epoch", "epochMs" or a pattern of ${DATE_PATTERN_LETTERS}`,
      };
    }
    pieces.push(piece);
  }
  if (last < format.length) {
    const text = format.slice(last);
    pieces.push(() => text);
  }
  return (ms) => {
    const fields = fieldsOf(ms, zone);
    let out = '';
    for (const piece of pieces) out += piece(fields);
    return out;
  };
}

/**
 * The largest instant read, in ms either side of 1970: what a Date holds (ECMA-262 §21.4.1.1)
 * less a day, so that its wall time in any time zone is a Date too.
 */
const MAX_INSTANT_MS = 8.64e15 - 86_400_000;

/** `ms` when a Date can hold that instant in every time zone, else undefined. */
function held(ms: number): number | undefined {
  return Math.abs(ms) <= MAX_INSTANT_MS ? ms : undefined;
}

/** A date, or a date and time, with no UTC offset: read as UTC. */
const ZONELESS = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/;

/**
 * The milliseconds a date written in one of RFC 3339's other spellings names: a space or `t` for
 * the `T`, `z` for `Z` (RFC 3339 §5.6), or no offset at all (`2026-11-27`, `2026-11-27 10:00`),
 * read as UTC, so that a wall time formatted without a zone comes out as it went in. Anything
 * else is NaN: Date.parse would read `11/27/2026 10:00` in the server's own time zone, and each
 * engine reads other spellings its own way.
 */
function otherSpellingInstant(text: string): number {
  let value = text;
  if (value[10] === ' ' || value[10] === 't') value = `${value.slice(0, 10)}T${value.slice(11)}`;
  if (value.endsWith('z')) value = `${value.slice(0, -1)}Z`;
  if (ZONELESS.test(value)) value = value.length === 10 ? `${value}T00:00Z` : `${value}Z`;
  return rfc3339Instant(value) ?? Number.NaN;
}

/**
 * The instant a value names, in ms: a number (or a string of digits) is seconds since the epoch,
 * like `system.timestamp`; a string is read as an RFC 3339 date (see otherSpellingInstant for
 * the spellings taken besides). Otherwise, or beyond the years a Date holds (±275,760, less a
 * day), undefined.
 */
export function instantOf(value: unknown): number | undefined {
  if (typeof value === 'number') return held(value * 1000);
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  if (/^\s*-?\d+(\.\d+)?\s*$/.test(value)) return held(Number(value) * 1000);
  // It must name a real time: Date.parse rolls 2026-02-30 over to March 2 and T24:00 to the
  // next day. NaN when unreadable, which `held` refuses too.
  const text = value.trim();
  return held(rfc3339Instant(text) ?? otherSpellingInstant(text));
}
