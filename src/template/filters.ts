/**
 * The filters a token may pass through, left to right: `{{contact.phone | e164 | default:"-"}}`.
 * Each is compiled once with its arguments checked; at render time a filter is a plain function
 * of the value. A missing value (undefined, null or "") passes through the text filters as
 * missing, so `default` can still replace it at the end.
 */
import {
  isSupportedCountry,
  parsePhoneNumberFromString,
  type CountryCode,
} from 'libphonenumber-js';
import { compileDateFormat, instantOf } from './date-format.js';
import { percentEncode } from './escapers.js';

export type FilterFn = (value: unknown) => unknown;
export type ArgValue = string | number;

/**
 * How a filter standing last changes what the context does with the text: `json` output is a
 * JSON literal, `raw` is emitted without escaping, `urlencode` output is already URL-encoded.
 */
export type OutputKind = 'value' | 'json' | 'raw' | 'urlencoded';

export interface CompileFilterOptions {
  /** Country for numbers written without `+` (ISO 3166 alpha-2, e.g. "US"); see `e164`. */
  defaultCountry?: string;
}

export interface FilterDoc {
  name: string;
  /** How the arguments are written, '' when there are none. */
  args: string;
  description: string;
  example: string;
}

interface FilterSpec extends FilterDoc {
  minArgs: number;
  maxArgs: number;
  output: OutputKind;
  compile(args: ArgValue[], options: CompileFilterOptions): FilterFn | ArgProblem;
}

export interface ArgProblem {
  /** Which argument is wrong; -1 when the count is. */
  argIndex: number;
  message: string;
}

export function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** The text of a value: strings as they are, numbers and booleans printed, objects as JSON. */
export function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}

export function jsonLiteral(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

const textFilter =
  (fn: (text: string) => string): FilterFn =>
  (value) =>
    isAbsent(value) ? undefined : fn(toText(value));

const stringArg = (args: ArgValue[], index: number, what: string): string | ArgProblem => {
  const arg = args[index];
  return typeof arg === 'string'
    ? arg
    : { argIndex: index, message: `expects ${what} as a quoted string` };
};

const SPECS: FilterSpec[] = [
  {
    name: 'default',
    args: '"text" or a number',
    description: 'The value, or this one when the value is missing or empty.',
    example: '{{contact.firstName | default:"there"}}',
    minArgs: 1,
    maxArgs: 1,
    output: 'value',
    compile: (args) => {
      const fallback = args[0];
      return (value) => (isAbsent(value) ? fallback : value);
    },
  },
  {
    name: 'json',
    args: '',
    description:
      'The value as a JSON literal (`"Ana"`, `42`, `null`, `{…}`); in a JSON body, outside quotes.',
    example: '{"duration": {{call.duration | json}}}',
    minArgs: 0,
    maxArgs: 0,
    output: 'json',
    compile: () => jsonLiteral,
  },
  {
    name: 'date',
    args: '"iso" | "epoch" | "epochMs" | "<pattern>" [, "<time zone>"]',
    description:
      'Formats an instant (an RFC 3339 string, or seconds since 1970): ISO 8601 in UTC, epoch seconds or milliseconds, or a pattern (YYYY MM DD HH mm ss SSS Z …) in UTC or the given IANA time zone. Unreadable dates are missing.',
    example: '{{call.startedAt | date:"YYYY-MM-DD HH:mm","Europe/Paris"}}',
    minArgs: 0,
    maxArgs: 2,
    output: 'value',
    compile: (args) => {
      const format = args.length === 0 ? 'iso' : stringArg(args, 0, 'a format');
      if (typeof format !== 'string') return format;
      const zone = args.length > 1 ? stringArg(args, 1, 'a time zone') : undefined;
      if (typeof zone === 'object') return zone;
      const formatter = compileDateFormat(format, zone);
      if (typeof formatter !== 'function') {
        return {
          argIndex: formatter.error.startsWith('unknown time zone') ? 1 : 0,
          message: formatter.error,
        };
      }
      return (value) => {
        const ms = instantOf(value);
        return ms === undefined ? undefined : formatter(ms);
      };
    },
  },
  {
    name: 'upper',
    args: '',
    description: 'Upper case.',
    example: '{{contact.lastName | upper}}',
    minArgs: 0,
    maxArgs: 0,
    output: 'value',
    compile: () => textFilter((text) => text.toUpperCase()),
  },
  {
    name: 'lower',
    args: '',
    description: 'Lower case.',
    example: '{{contact.email | lower}}',
    minArgs: 0,
    maxArgs: 0,
    output: 'value',
    compile: () => textFilter((text) => text.toLowerCase()),
  },
  {
    name: 'trim',
    args: '',
    description: 'Without leading and trailing white space.',
    example: '{{contact.address | trim}}',
    minArgs: 0,
    maxArgs: 0,
    output: 'value',
    compile: () => textFilter((text) => text.trim()),
  },
  {
    name: 'digits',
    args: '',
    description: 'Only the digits 0–9 (a phone number without `+`, spaces or punctuation).',
    example: '{{contact.phone | digits}}',
    minArgs: 0,
    maxArgs: 0,
    output: 'value',
    compile: () => textFilter((text) => text.replace(/[^0-9]/g, '')),
  },
  {
    name: 'e164',
    args: '["<country>"]',
    description:
      'A phone number in E.164 (`+15551234567`). Numbers without `+` are read in the given country, else the default country setting; a number that cannot be a phone number is missing.',
    example: '{{contact.phone | e164:"FR"}}',
    minArgs: 0,
    maxArgs: 1,
    output: 'value',
    compile: (args, options) => {
      const given = args.length > 0 ? stringArg(args, 0, 'a country code') : options.defaultCountry;
      if (typeof given === 'object') return given;
      const country = given?.toUpperCase();
      if (country !== undefined && !isSupportedCountry(country)) {
        return {
          argIndex: args.length > 0 ? 0 : -1,
          message: `"${given}" is not a country code (ISO 3166 alpha-2, e.g. "US")`,
        };
      }
      return (value) => {
        if (isAbsent(value)) return undefined;
        const number = parsePhoneNumberFromString(
          toText(value),
          country as CountryCode | undefined,
        );
        return number?.isPossible() ? number.number : undefined;
      };
    },
  },
  {
    name: 'urlencode',
    args: '',
    description:
      'Percent-encoded (RFC 3986, `+` → `%2B`, space → `%20`): for a URL inside a body. In a URL or form body the value is encoded once, not twice.',
    example: '{"link": "https://crm.example/find?q={{contact.phone | urlencode}}"}',
    minArgs: 0,
    maxArgs: 0,
    output: 'urlencoded',
    compile: () => textFilter(percentEncode),
  },
  {
    name: 'raw',
    args: '',
    description:
      'No escaping at all: the value is pasted as is and may break the request. Must be the last filter; not allowed in header values.',
    example: '{"extra": {{contact.custom.payload | raw}}}',
    minArgs: 0,
    maxArgs: 0,
    output: 'raw',
    compile: () => (value) => value,
  },
];

export const FILTERS: ReadonlyMap<string, FilterSpec> = new Map(SPECS.map((s) => [s.name, s]));

/** What `GET /api/v1/tokens` tells the console about filters. */
export const FILTER_DOCS: readonly FilterDoc[] = SPECS.map(
  ({ name, args, description, example }) => ({
    name,
    args,
    description,
    example,
  }),
);

export type { FilterSpec };
