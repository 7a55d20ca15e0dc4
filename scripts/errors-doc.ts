import fs from 'node:fs';
import { renderErrorsDoc } from '../src/errors-doc.js';

fs.writeFileSync('docs/errors.md', renderErrorsDoc());
