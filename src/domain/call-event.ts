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

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-](\d{2}):(\d{2}))$/;
const NOT_RFC3339 = 'must be an RFC 3339 date-time like 2026-11-27T10:00:00Z';
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/**
 * Reads an RFC 3339 timestamp: its milliseconds, or why it is not one (a phrase). Date.parse
 * alone rolls impossible dates over (2026-02-30 is March 2, T24:00 the next day): each part is
 * checked against the calendar and the clock first. On the template hot path (the `date`
 * filter): no allocation but the match.
 */
function readTimestamp(value: string): number | string {
  const match = RFC3339.exec(value);
  if (match === null) return NOT_RFC3339;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12) return `has no month ${match[2]}: months run from 01 to 12`;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day < 1 || day > days)
    return `has no day ${match[3]} in ${match[1]}-${match[2]}: that month has ${days} days`;
  if (Number(match[4]) > 23) return `has no hour ${match[4]}: hours run from 00 to 23`;
  if (Number(match[5]) > 59) return `has no minute ${match[5]}: minutes run from 00 to 59`;
  if (Number(match[6] ?? 0) > 59) return `has no second ${match[6]}: seconds run from 00 to 59`;
  if (Number(match[8] ?? 0) > 23 || Number(match[9] ?? 0) > 59)
    return `has no UTC offset ${match[7]}: offsets run from -23:59 to +23:59`;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? NOT_RFC3339 : ms;
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
