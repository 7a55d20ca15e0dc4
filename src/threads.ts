/**
 * Starting a worker thread of Callhook's (the SQLite IVR log, ivr-log-thread.ts, and the SQLite
 * checkpointer, checkpoint-thread.ts).
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

/**
 * An error as it crosses from a thread: a structured clone keeps an Error's message but not its
 * class or its other fields, so the code (`SQLITE_BUSY`…) travels beside it.
 */
export interface ThreadError {
  message: string;
  code?: string;
}

export function toThreadError(error: unknown): ThreadError {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? { message: error.message, code } : { message: error.message };
}

/** The main thread's Error for what `toThreadError` sent. */
export function fromThreadError({ message, code }: ThreadError): Error {
  const error = new Error(message);
  if (code !== undefined) Object.assign(error, { code });
  return error;
}
