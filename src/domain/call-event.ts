/**
 * Call events as the dialer reports them (SPEC §4, §8.1). Tokens read these same names, so the
 * event is stored exactly as received.
 */
import { CALL_EVENT_TYPES, type CallEventType } from './campaign.js';

export interface CallEvent {
  id: string;
  type: CallEventType;
  occurredAt: string;
  campaignId: string;
  call: Record<string, unknown> & { id?: string; status?: string };
  contact: Record<string, unknown>;
  /** IVR variables collected so far, for `call.ivr_input` events. */
  ivr?: Record<string, string>;
}

export const MAX_BATCH = 1000;
export const EVENT_BODY_LIMIT = 10 * 1024 * 1024;

export function isCallEventType(value: unknown): value is CallEventType {
  return typeof value === 'string' && (CALL_EVENT_TYPES as readonly string[]).includes(value);
}

/** In a `u` regex a whole surrogate pair is one code point: this matches only half of one. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why an id the dialer sent cannot be stored in a column of its own (and matched), or undefined
 * when it can: half a UTF-16 pair has no UTF-8 form (the database would store a replacement
 * character instead of what was sent), and PostgreSQL text cannot hold NUL (a multi-row insert
 * would fail whole there, not on SQLite).
 *
 * ### Example
 * ```ts
 * idProblem('k-\u00001'); // → 'must not contain NUL (\\u0000)'
 * ```
 */
export function idProblem(id: string): string | undefined {
  if (LONE_SURROGATE.test(id)) return 'must be well-formed Unicode (it holds half a UTF-16 pair)';
  if (id.includes('\u0000')) return 'must not contain NUL (\\u0000)';
  return undefined;
}

const NOT_RFC3339 = 'must be an RFC 3339 date-time like 2026-11-27T10:00:00Z';
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
/** Date.UTC reads years 0–99 as 1900–1999: such a year is read 400 years on, then taken back. */
const FOUR_CENTURIES_MS = 146_097 * 86_400_000;

/** The number the two digits at `at` write, or -1 when either is not a digit. */
function twoDigits(text: string, at: number): number {
  const tens = text.charCodeAt(at) - 48;
  const units = text.charCodeAt(at + 1) - 48;
  return tens >= 0 && tens <= 9 && units >= 0 && units <= 9 ? tens * 10 + units : -1;
}

/**
 * Reads an RFC 3339 timestamp, `YYYY-MM-DDTHH:MM[:SS[.fraction]]` then `Z` or `±HH:MM` (seconds
 * may be left out; `t` and `z` may be lower case): its milliseconds, or why it is not one (a phrase). Date.parse alone rolls
 * impossible dates over (2026-02-30 is March 2, T24:00 the next day): each part is checked
 * against the calendar and the clock. It is on the template hot path (the `date` filter) and
 * reads every event's `occurredAt`: character by character, allocating nothing but a problem's
 * phrase, about 5× faster than a regular expression and Date.parse.
 */
function readTimestamp(value: string): number | string {
  const length = value.length;
  // RFC 3339 §5.6: "T" and "Z" may be written in lower case.
  const separator = value[10];
  if (
    length < 17 ||
    value[4] !== '-' ||
    value[7] !== '-' ||
    (separator !== 'T' && separator !== 't') ||
    value[13] !== ':'
  )
    return NOT_RFC3339;
  const century = twoDigits(value, 0);
  const yearOf = twoDigits(value, 2);
  const month = twoDigits(value, 5);
  const day = twoDigits(value, 8);
  const hour = twoDigits(value, 11);
  const minute = twoDigits(value, 14);
  if (century < 0 || yearOf < 0 || month < 0 || day < 0 || hour < 0 || minute < 0)
    return NOT_RFC3339;
  let at = 16;
  let second = 0;
  let ms = 0;
  if (value[at] === ':') {
    second = twoDigits(value, at + 1);
    if (second < 0) return NOT_RFC3339;
    at += 3;
    if (value[at] === '.') {
      at += 1;
      const first = at;
      // Milliseconds are the first three digits; further ones are read past, as by Date.parse.
      for (let digit = value.charCodeAt(at) - 48; digit >= 0 && digit <= 9;) {
        if (at - first < 3) ms += digit * 10 ** (2 - (at - first));
        at += 1;
        digit = value.charCodeAt(at) - 48;
      }
      if (at === first) return NOT_RFC3339;
    }
  }
  let offsetHour = 0;
  let offsetMinute = 0;
  const zone = value[at];
  if (zone === '+' || zone === '-') {
    offsetHour = twoDigits(value, at + 1);
    offsetMinute = twoDigits(value, at + 4);
    if (at + 6 !== length || value[at + 3] !== ':' || offsetHour < 0 || offsetMinute < 0)
      return NOT_RFC3339;
  } else if ((zone !== 'Z' && zone !== 'z') || at + 1 !== length) return NOT_RFC3339;
  const year = century * 100 + yearOf;
  if (month < 1 || month > 12) return `has no month ${value.slice(5, 7)}: months run from 01 to 12`;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day < 1 || day > days)
    return `has no day ${value.slice(8, 10)} in ${value.slice(0, 7)}: that month has ${days} days`;
  if (hour > 23) return `has no hour ${value.slice(11, 13)}: hours run from 00 to 23`;
  if (minute > 59) return `has no minute ${value.slice(14, 16)}: minutes run from 00 to 59`;
  if (second > 59) return `has no second ${value.slice(17, 19)}: seconds run from 00 to 59`;
  if (offsetHour > 23 || offsetMinute > 59)
    return `has no UTC offset ${value.slice(at)}: offsets run from -23:59 to +23:59`;
  const utc =
    year < 100
      ? Date.UTC(year + 400, month - 1, day, hour, minute, second, ms) - FOUR_CENTURIES_MS
      : Date.UTC(year, month - 1, day, hour, minute, second, ms);
  return utc - (zone === '-' ? -1 : 1) * (offsetHour * 60 + offsetMinute) * 60_000;
}

/**
 * Why `value` is not an RFC 3339 timestamp (a phrase to follow the field's name), or undefined
 * when it is one.
 *
 * ### Example
 * ```ts
 * timestampProblem('2026-02-30T10:00:00Z'); // → 'has no day 30 in 2026-02: that month has 28 days'
 * ```
 */
export function timestampProblem(value: string): string | undefined {
  const read = readTimestamp(value);
  return typeof read === 'string' ? read : undefined;
}

/**
 * Milliseconds of `value` when it is written as an RFC 3339 timestamp: NaN when that names no
 * real time (`2026-02-30T10:00:00Z`), undefined when it is not written so (`27/11/2026`).
 */
export function rfc3339Instant(value: string): number | undefined {
  const read = readTimestamp(value);
  if (typeof read === 'number') return read;
  return read === NOT_RFC3339 ? undefined : Number.NaN;
}

/** Milliseconds of an RFC 3339 timestamp, or undefined when it is not one (see timestampProblem). */
export function parseTimestamp(value: string): number | undefined {
  const read = readTimestamp(value);
  return typeof read === 'number' ? read : undefined;
}
