import { errorCodes } from './errors.js';

/** `docs/errors.md`, rendered from the error table (`npm run docs:errors` writes it). */
export function renderErrorsDoc(): string {
  const rows = Object.entries(errorCodes).map(
    ([code, e]) => `| \`${code}\` | ${e.status} | ${e.message} | ${e.fix} |`,
  );
  return [
    '# Error codes',
    '',
    'Every API error answers with the same body: `{"error": {"code", "message", "details"?}}`.',
    '`details`, when present, says what was wrong and where (for validation: a list of',
    '`{field, message}`, with `line` and `column` for templates).',
    '',
    'This file is generated from `src/errors.ts` by `npm run docs:errors`; a test keeps it current.',
    '',
    '| code | status | message | how to fix |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
