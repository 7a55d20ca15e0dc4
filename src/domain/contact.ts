/**
 * Contacts of a contact list (SPEC §1): standard fields and free custom fields, imported as JSON
 * or CSV (docs/campaigns.md). Pure rules: what a contact may hold, and how a CSV file's rows become
 * contacts, each problem named by row and field.
 */
import { idProblem } from './call-event.js';
import type { CsvRecord } from './csv.js';

/** The standard fields besides `id` and `phone`, as tokens read them (`{{contact.firstName}}`). */
export const CONTACT_TEXT_FIELDS = [
  'firstName',
  'lastName',
  'email',
  'address',
  'description',
] as const;
export type ContactTextField = (typeof CONTACT_TEXT_FIELDS)[number];

export type CustomValue = string | number | boolean | null;

/** A contact as imported: `id` optional (one is generated), `phone` required. */
export interface ContactInput {
  id?: string | undefined;
  phone: string;
  firstName?: string | undefined;
  lastName?: string | undefined;
  email?: string | undefined;
  address?: string | undefined;
  description?: string | undefined;
  custom?: Record<string, CustomValue> | undefined;
}

/** A stored contact; fields it has no value for are left out. */
export interface Contact {
  id: string;
  phone: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  address?: string;
  description?: string;
  custom: Record<string, CustomValue>;
}

/** What is wrong with one contact of an import: its index (0-based) or CSV row, and the field. */
export interface ContactProblem {
  /** 0-based index in `contacts` (JSON), or the 1-based data row (CSV, header not counted). */
  index?: number;
  row?: number;
  /** The CSV line the row starts on. */
  line?: number;
  field: string;
  message: string;
}

/**
 * Contacts one import takes, JSON or CSV: storing them holds the process (and SQLite's write lock)
 * for a few tenths of a second; a larger list comes in several imports.
 */
export const MAX_IMPORT_CONTACTS = 20_000;
export const MAX_CONTACT_ID = 100;
export const MAX_CONTACT_TEXT = 1000;
export const MAX_CUSTOM_FIELDS = 100;
export const MAX_CUSTOM_NAME = 100;

const PHONE = /^\+?[0-9][0-9 ().-]*$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** Why a text value cannot be stored as sent (NUL, half a UTF-16 pair, too long), or undefined. */
function textProblem(value: string, max: number): string | undefined {
  if (value.length > max) return `is ${value.length} characters long; at most ${max}`;
  return idProblem(value);
}

/** Why `phone` is not a phone number, or undefined. */
export function phoneProblem(phone: string): string | undefined {
  if (phone.trim() === '') return 'is required';
  const text = textProblem(phone, 40);
  if (text !== undefined) return text;
  const digits = phone.replace(/\D/g, '').length;
  if (!PHONE.test(phone.trim()) || digits < 3 || digits > 20) {
    return `is not a phone number ("${phone}"): 3 to 20 digits, an optional leading +, and spaces, dots, dashes or parentheses between them`;
  }
  return undefined;
}

/**
 * Every problem of one contact, by field (`custom.plan` for a custom field). Empty when it can be
 * stored.
 *
 * ### Example
 * ```ts
 * contactProblems({ phone: 'call me' }); // → [{ field: 'phone', message: 'is not a phone number …' }]
 * ```
 */
export function contactProblems(contact: ContactInput): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  const add = (field: string, message: string | undefined) => {
    if (message !== undefined) problems.push({ field, message });
  };
  if (contact.id !== undefined) {
    add('id', contact.id === '' ? 'is empty' : textProblem(contact.id, MAX_CONTACT_ID));
  }
  add('phone', phoneProblem(contact.phone));
  for (const field of CONTACT_TEXT_FIELDS) {
    const value = contact[field];
    if (value !== undefined) add(field, textProblem(value, MAX_CONTACT_TEXT));
  }
  if (contact.email !== undefined && contact.email !== '' && !EMAIL.test(contact.email)) {
    add('email', `is not an email address ("${contact.email}")`);
  }
  const custom = Object.entries(contact.custom ?? {});
  if (custom.length > MAX_CUSTOM_FIELDS) {
    add('custom', `has ${custom.length} fields; at most ${MAX_CUSTOM_FIELDS}`);
  }
  for (const [name, value] of custom) {
    const field = `custom.${name}`;
    const nameProblem = textProblem(name, MAX_CUSTOM_NAME);
    if (name === '') add(field, 'has an empty name');
    else if (nameProblem !== undefined) add(field, `has a name that ${nameProblem}`);
    if (typeof value === 'string') add(field, textProblem(value, MAX_CONTACT_TEXT));
    if (typeof value === 'number' && !Number.isFinite(value)) add(field, 'is not a finite number');
  }
  return problems;
}

/**
 * A contact from its standard values as sent: spaces around them dropped (`" +1555…"` would
 * render with its space; a CSV written with `, ` between cells has them), and an empty value left
 * out, as no value. `phone` stays, empty or not, for `contactProblems` to judge. Custom values are
 * kept as sent.
 *
 * ### Example
 * ```ts
 * contactOf({ phone: ' +15551230001 ', firstName: ' ' }); // → { phone: '+15551230001' }
 * ```
 */
export function contactOf(
  values: Partial<Record<'id' | 'phone' | ContactTextField, string>>,
  custom?: Record<string, CustomValue>,
): ContactInput {
  const contact: ContactInput = { phone: (values.phone ?? '').trim() };
  for (const field of ['id', ...CONTACT_TEXT_FIELDS] as const) {
    const value = values[field]?.trim();
    if (value !== undefined && value !== '') contact[field] = value;
  }
  if (custom !== undefined) contact.custom = custom;
  return contact;
}

/** `first name`, `First_Name`, `FIRSTNAME` → `firstname`: how a CSV header names a field. */
function headerKey(name: string): string {
  return name.toLowerCase().replace(/[\s_-]/g, '');
}

const STANDARD_HEADERS = new Map<string, 'id' | 'phone' | ContactTextField>(
  (['id', 'phone', ...CONTACT_TEXT_FIELDS] as const).map((field) => [headerKey(field), field]),
);

/**
 * Contacts from parsed CSV records: the first is the header row. `phone`, `id`, `firstName`,
 * `lastName`, `email`, `address` and `description` columns (any case; spaces, `_` and `-`
 * ignored: `First Name` is `firstName`) fill the standard fields, any other column a custom field
 * of its header's name. An empty cell leaves its field out (`contactOf`). Answers every problem with its row,
 * line and field, or the contacts.
 */
export function contactsFromCsv(
  records: readonly CsvRecord[],
): { contacts: ContactInput[] } | { problems: ContactProblem[] } {
  const [header, ...rows] = records;
  if (header === undefined) {
    return { problems: [{ line: 1, field: 'header', message: 'the file is empty' }] };
  }
  const headerProblems: ContactProblem[] = [];
  const seen = new Map<string, number>();
  const columns = header.cells.map((raw, index) => {
    const name = raw.trim();
    const standard = STANDARD_HEADERS.get(headerKey(name));
    const key = standard ?? `custom.${name}`;
    const where = { line: header.line, field: `header, column ${index + 1}` };
    if (name === '') headerProblems.push({ ...where, message: 'is empty: name every column' });
    else if (seen.has(key)) {
      headerProblems.push({
        ...where,
        message: `"${name}" names the same field as column ${seen.get(key)! + 1}`,
      });
    } else {
      const problem = textProblem(name, MAX_CUSTOM_NAME);
      if (problem !== undefined) headerProblems.push({ ...where, message: `"${name}" ${problem}` });
    }
    seen.set(key, index);
    return { name, standard };
  });
  if (!columns.some((column) => column.standard === 'phone')) {
    headerProblems.push({
      line: header.line,
      field: 'header',
      message: `has no phone column (the columns are ${columns.map((c) => `"${c.name}"`).join(', ')})`,
    });
  }
  if (headerProblems.length > 0) return { problems: headerProblems };
  if (rows.length === 0) {
    return {
      problems: [
        { line: header.line, field: 'header', message: 'no contacts follow the header row' },
      ],
    };
  }
  if (rows.length > MAX_IMPORT_CONTACTS) {
    const first = rows[MAX_IMPORT_CONTACTS]!;
    return {
      problems: [
        {
          row: MAX_IMPORT_CONTACTS + 1,
          line: first.line,
          field: 'row',
          message: `is past the ${MAX_IMPORT_CONTACTS} contacts one import takes (the file has ${rows.length}): import the rest in another request`,
        },
      ],
    };
  }
  const problems: ContactProblem[] = [];
  const contacts: ContactInput[] = [];
  rows.forEach((record, index) => {
    const where = { row: index + 1, line: record.line };
    if (record.cells.length !== columns.length) {
      problems.push({
        ...where,
        field: 'row',
        message: `has ${record.cells.length} cells; the header has ${columns.length}`,
      });
      return;
    }
    const values: Partial<Record<'id' | 'phone' | ContactTextField, string>> = {};
    const custom: [string, string][] = [];
    record.cells.forEach((value, column) => {
      const { name, standard } = columns[column]!;
      if (standard !== undefined) values[standard] = value;
      else if (value !== '') custom.push([name, value]);
    });
    // fromEntries makes own properties, whatever the names (`__proto__` included).
    const contact = contactOf(values, custom.length > 0 ? Object.fromEntries(custom) : undefined);
    for (const problem of contactProblems(contact)) problems.push({ ...where, ...problem });
    contacts.push(contact);
  });
  return problems.length > 0 ? { problems } : { contacts };
}
