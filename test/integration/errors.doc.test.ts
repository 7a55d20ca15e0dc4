import fs from 'node:fs';
import { expect, it } from 'vitest';
import { renderErrorsDoc } from '../../src/errors-doc.js';

it('docs/errors.md matches the error table (run `npm run docs:errors`)', () => {
  expect(fs.readFileSync('docs/errors.md', 'utf8')).toBe(renderErrorsDoc());
});
