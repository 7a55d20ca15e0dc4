/**
 * Template problems as users read them: where (field, line, column), in reading order, with a
 * suggestion when a name is a near miss of a known one.
 */

export interface TemplateProblem {
  /** The integration field, e.g. `config.body`. */
  field: string;
  /** 1-based line and column in the field's text (columns count UTF-16 code units). */
  line: number;
  column: number;
  message: string;
}

export type Positioner = (offset: number, message: string) => TemplateProblem;

/** Turns offsets in `source` into the field's line and column. */
export function positioner(
  source: string,
  options: { field: string; line?: number; column?: number },
): Positioner {
  const baseLine = options.line ?? 1;
  const baseColumn = options.column ?? 1;
  return (offset, message) => {
    const before = source.slice(0, offset);
    const newline = before.lastIndexOf('\n');
    const line = baseLine + (before.match(/\n/g)?.length ?? 0);
    const column = newline < 0 ? baseColumn + offset : offset - newline;
    return { field: options.field, line, column, message };
  };
}

/** The offset in `source` of a 1-based line and column (a parser's error position). */
export function offsetOf(source: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l += 1) {
    const next = source.indexOf('\n', offset);
    if (next < 0) break;
    offset = next + 1;
  }
  return Math.min(source.length, offset + column - 1);
}

/** In reading order: by line, then column. */
export function sortProblems(problems: TemplateProblem[]): TemplateProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** How many arguments a filter takes, in words. */
export function arity(min: number, max: number): string {
  if (max === 0) return 'no arguments';
  if (min === max) return `${min} argument${min === 1 ? '' : 's'}`;
  return `${min} to ${max} arguments`;
}

/** ` (did you mean "x"?)` when a candidate is within two edits, else ''. */
export function suggest(name: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/** Levenshtein distance, cut off at 3 (nothing further is suggested). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
