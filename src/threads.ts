/**
 * Starting a worker thread of Callhook's (so far one: the SQLite IVR log, ivr-log-thread.ts).
 * Built, a thread runs its `.js` file. From the sources (tests, `tsx`) there is only the `.ts`
 * file, and Node 20 gives worker threads no `--import` loaders: the thread loads it through tsx's
 * own import.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** `script`: the thread's module as built (`new URL('./x-thread.js', import.meta.url)`). */
export function startThread(script: URL, workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(script, { workerData });
  const source = fileURLToPath(script).replace(/\.js$/, '.ts');
  const boot = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(source)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(boot, { eval: true, workerData });
}
