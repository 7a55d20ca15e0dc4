/**
 * CSV as contact lists come in (RFC 4180, with the usual liberties: LF or CRLF line ends, a
 * byte-order mark, `;` or tab as the separator when the header row uses it) and as campaign
 * results go out. Pure functions; the routes read and write the bytes.
 */
import { firstNonUtf8, hexByte } from './utf8.js';
import { byteOrderMark, StandardTextDecoder } from './text-decoder.js';

/** One record and the line (1-based) it starts on: a quoted cell may span lines. */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/** Why a text is not CSV, and where. */
export interface CsvProblem {
  line: number;
  column: number;
  message: string;
}

/**
 * The text of a CSV body: in the encoding its byte-order mark names (UTF-8, UTF-16LE or UTF-16BE:
 * Excel's "Unicode Text" is UTF-16LE, and the console cannot send a charset), whatever `charset`
 * says, as the Encoding Standard's decode does; else UTF-8 unless `charset` (the `Content-Type`
 * parameter) names another encoding. Bytes that are not of that encoding are a problem at their
 * line and column, never replaced by U+FFFD (an Excel "CSV" saved as Windows-1252 would lose every
 * accented letter, unseen); a `charset` no decoder knows is `unsupported`.
 *
 * ### Examples
 * ```ts
 * decodeCsv(Buffer.from('phone,firstName\n+1555,Jos\xe9\n', 'latin1'), undefined);
 * // → { problem: { line: 2, column: 10, message: 'byte 0xE9 is not UTF-8: …' } }
 * decodeCsv(Buffer.from('phone,firstName\n+1555,Jos\xe9\n', 'latin1'), 'windows-1252');
 * // → { text: 'phone,firstName\n+1555,José\n' }
 * ```
 */
export function decodeCsv(
  bytes: Uint8Array,
  charset: string | undefined,
): { text: string } | { problem: CsvProblem } | { unsupported: string } {
  const marked = byteOrderMark(bytes);
  const encoding = marked ?? charset ?? 'utf-8';
  let decoder: StandardTextDecoder;
  try {
    decoder = new StandardTextDecoder(encoding, { fatal: true });
  } catch {
    return { unsupported: encoding };
  }
  try {
    return { text: decoder.decode(bytes) };
  } catch {
    const at = firstUndecodable(bytes, encoding);
    const before = new StandardTextDecoder(encoding).decode(bytes.subarray(0, at));
    const lines = before.split(/\r\n|\r|\n/);
    const name = decoder.encoding.toUpperCase();
    const advice =
      marked !== undefined
        ? `the file starts with a ${name} byte-order mark: save it again, whole, as ${name}`
        : decoder.encoding === 'utf-8'
          ? 'save the file as UTF-8, or name its encoding in the Content-Type (text/csv; charset=windows-1252)'
          : `the file is not in ${charset}: name the encoding it is in`;
    return {
      problem: {
        line: lines.length,
        column: lines.at(-1)!.length + 1,
        message: `byte ${hexByte(bytes, at)} is not ${name}: ${advice}`,
      },
    };
  }
}

/**
 * The offset of the first byte `encoding` cannot decode. UTF-8 exactly (the lead byte of a bad
 * sequence); another encoding where its decoder first fails (a byte at most a character late).
 */
function firstUndecodable(bytes: Uint8Array, encoding: string): number {
  if (new StandardTextDecoder(encoding).encoding === 'utf-8') return firstNonUtf8(bytes);
  // Bytes [0, low) decode as a stream (a character cut at the end allowed), [0, high) do not.
  let low = 0;
  let high = bytes.length;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    try {
      new StandardTextDecoder(encoding, { fatal: true }).decode(bytes.subarray(0, middle), {
        stream: true,
      });
      low = middle;
    } catch {
      high = middle;
    }
  }
  return low;
}

const SEPARATORS = [',', ';', '\t'] as const;

/** The separator of the header row: the most frequent of `,`, `;` and tab outside quotes. */
function separatorOf(text: string): string {
  const counts = new Map<string, number>(SEPARATORS.map((s) => [s, 0]));
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && counts.has(char)) counts.set(char, counts.get(char)! + 1);
  }
  let best = ',';
  for (const separator of SEPARATORS)
    if (counts.get(separator)! > counts.get(best)!) best = separator;
  return best;
}

/**
 * Parses `text` into records. Blank lines (spaces only, too), and lines of separators only, are
 * skipped (their line numbers still count). A quote inside an unquoted cell, text after a closing quote, or a quote
 * left open is a problem naming its line and column.
 *
 * ### Examples
 * ```ts
 * parseCsv('phone,firstName\n+1555,"Ana, Maria"\n');
 * // → { records: [{ line: 1, cells: ['phone', 'firstName'] }, { line: 2, cells: ['+1555', 'Ana, Maria'] }] }
 * parseCsv('phone\n"+1555\n'); // → { problem: { line: 2, column: 1, message: 'a quoted cell is never closed' } }
 * ```
 */
export function parseCsv(input: string): { records: CsvRecord[] } | { problem: CsvProblem } {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const separator = separatorOf(text);
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let cell = '';
  // The cell was quoted: `""` is an empty cell, so its line is not blank.
  let quotedCell = false;
  // A cell of the record so far was quoted.
  let quotedRecord = false;
  let line = 1;
  let column = 1;
  let recordLine = 1;
  let i = 0;
  const endCell = () => {
    cells.push(cell);
    cell = '';
    quotedRecord ||= quotedCell;
    quotedCell = false;
  };
  const endRecord = () => {
    endCell();
    // A line of separators only (`,,`: what a spreadsheet writes for a row it cleared) is blank,
    // and so is one of spaces (`   `, ` , ,`: left by a text editor); no contact can come of it.
    const blank = !quotedRecord && cells.every((c) => c.trim() === '');
    if (!blank) records.push({ line: recordLine, cells });
    cells = [];
    quotedRecord = false;
  };
  while (i < text.length) {
    const char = text[i]!;
    if (char === '"') {
      if (cell !== '' || quotedCell) {
        return { problem: { line, column, message: 'a quote inside a cell that is not quoted' } };
      }
      const opened = { line, column };
      quotedCell = true;
      i += 1;
      column += 1;
      for (;;) {
        if (i >= text.length) {
          return { problem: { ...opened, message: 'a quoted cell is never closed' } };
        }
        const inner = text[i]!;
        if (inner === '"' && text[i + 1] === '"') {
          cell += '"';
          i += 2;
          column += 2;
        } else if (inner === '"') {
          i += 1;
          column += 1;
          break;
        } else {
          cell += inner;
          i += 1;
          if (inner === '\n' || (inner === '\r' && text[i] !== '\n')) {
            line += 1;
            column = 1;
          } else column += 1;
        }
      }
      const next = text[i];
      if (next !== undefined && next !== separator && next !== '\n' && next !== '\r') {
        return {
          problem: { line, column, message: 'text after a quoted cell, before the separator' },
        };
      }
      continue;
    }
    if (char === separator) {
      endCell();
      i += 1;
      column += 1;
      continue;
    }
    if (char === '\n' || char === '\r') {
      endRecord();
      i += char === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line += 1;
      column = 1;
      recordLine = line;
      continue;
    }
    if (quotedCell) {
      return {
        problem: { line, column, message: 'text after a quoted cell, before the separator' },
      };
    }
    cell += char;
    i += 1;
    column += 1;
  }
  if (cell !== '' || cells.length > 0 || quotedCell) endRecord();
  return { records };
}

/**
 * A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab or carriage return
 * first) gets a `'` in front, so it shows as text and runs nothing (OWASP's CSV injection
 * advice). A number or phone number (`+15551234567`, `-12.5`, `+1 (555) 123-4567`) is left as
 * it is: it cannot call anything.
 */
export function neutralizeFormula(value: string): string {
  if (!/^[=+\-@\t\r]/.test(value)) return value;
  if (/^[+-]?\d[\d ().,-]*$/.test(value)) return value;
  return `'${value}`;
}

/** One cell as written: neutralized, then quoted when it holds a separator, quote or line end. */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = typeof value === 'number' ? String(value) : neutralizeFormula(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record as written, with its CRLF. */
export function csvRow(values: readonly (string | number | null)[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
