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
 * Reads an RFC 3339 timestamp. Date.parse alone rolls impossible dates over (2026-02-30 is
 * March 2, T24:00 the next day): each part is checked against the calendar and the clock first.
 */
function readTimestamp(value: string): { ms: number } | { problem: string } {
  const match = RFC3339.exec(value);
  if (match === null) return { problem: NOT_RFC3339 };
  const [, y, mo, d, h, mi, s, zone, oh, om] = match;
  const [year, month, day] = [Number(y), Number(mo), Number(d)];
  if (month < 1 || month > 12) return { problem: `has no month ${mo}: months run from 01 to 12` };
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day < 1 || day > days)
    return { problem: `has no day ${d} in ${y}-${mo}: that month has ${days} days` };
  if (Number(h) > 23) return { problem: `has no hour ${h}: hours run from 00 to 23` };
  if (Number(mi) > 59) return { problem: `has no minute ${mi}: minutes run from 00 to 59` };
  if (Number(s ?? 0) > 59) return { problem: `has no second ${s}: seconds run from 00 to 59` };
  if (Number(oh ?? 0) > 23 || Number(om ?? 0) > 59)
    return { problem: `has no UTC offset ${zone}: offsets run from -23:59 to +23:59` };
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? { problem: NOT_RFC3339 } : { ms };
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
  return 'problem' in read ? read.problem : undefined;
}

/**
 * Whether `value` is written as an RFC 3339 timestamp, whether or not it names a real time
 * (`2026-02-30T10:00:00Z` is; `27/11/2026` is not).
 */
export function looksLikeTimestamp(value: string): boolean {
  return RFC3339.test(value);
}

/** Milliseconds of an RFC 3339 timestamp, or undefined when it is not one (see timestampProblem). */
export function parseTimestamp(value: string): number | undefined {
  const read = readTimestamp(value);
  return 'ms' in read ? read.ms : undefined;
}
