/**
 * Checkpoints of the SQLite write-ahead log in a worker thread (checkpoint-thread.ts).
 *
 * By default SQLite checkpoints in the connection that commits: every ~1,000 pages of log, one
 * commit also copies them into the database file and waits for the disk. On the main connection
 * that is the event loop, paid by whichever claim or completion crossed the line. With the
 * checkpointer, a thread does that copying every `intervalMs` (the log starts over at the next
 * write after a checkpoint that copied every frame, with no reader still on it) and the main
 * connection checkpoints only as a safety net, at `fallbackPages`: when steady writes keep the
 * thread from ever catching up, and for good if the thread stops.
 */
import type SqliteDatabase from 'better-sqlite3';
import { fromThreadError, startThread, type ThreadError } from '../threads.js';

/** SQLite's own default for `wal_autocheckpoint`, restored when the thread stops. */
const SQLITE_DEFAULT_PAGES = 1000;
/** How long `close()` waits for a checkpoint under way before it ends the thread. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface CheckpointThreadData {
  file: string;
  intervalMs: number;
}

export type FromCheckpointThread =
  | { kind: 'failed'; error: ThreadError }
  /** A checkpoint succeeded after failures. */
  | { kind: 'recovered' };

export interface CheckpointerOptions {
  /** How often the thread checkpoints (default 100 ms). */
  intervalMs?: number;
  /** The main connection's `wal_autocheckpoint` while the thread runs (default 4,000 pages). */
  fallbackPages?: number;
  /**
   * A checkpoint failed (reported once, until one succeeds again), or the thread stopped (the
   * main connection checkpoints again).
   */
  onProblem: (error: Error) => void;
  /** A checkpoint succeeded after `onProblem` reported a failed one. */
  onRecovered?: () => void;
  /** The thread's module; tests give one that fails. */
  threadScript?: URL;
}

export interface Checkpointer {
  /** Stops the thread; the main connection checkpoints as SQLite does by default again. */
  close(): Promise<void>;
}

/** Starts checkpointing `file` (open in WAL mode on `main`) in a thread. */
export function startCheckpointer(
  main: SqliteDatabase.Database,
  file: string,
  options: CheckpointerOptions,
): Checkpointer {
  const data: CheckpointThreadData = { file, intervalMs: options.intervalMs ?? 100 };
  const worker = startThread(
    options.threadScript ?? new URL('./checkpoint-thread.js', import.meta.url),
    data,
  );
  // Between checkpoints the thread does not keep the process alive (`close()` holds it again).
  worker.unref();
  main.pragma(`wal_autocheckpoint = ${options.fallbackPages ?? 4000}`);
  let closing: Promise<void> | undefined;
  let failure: Error | undefined;
  const takeBack = () => {
    if (main.open) main.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
  };
  worker.on('message', (message: FromCheckpointThread) => {
    if (message.kind === 'failed') options.onProblem(fromThreadError(message.error));
    else options.onRecovered?.();
  });
  // An uncaught error in the thread comes first, then its exit.
  worker.on('error', (error) => (failure = error));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      resolve();
      if (closing !== undefined) return;
      takeBack();
      options.onProblem(
        new Error(`the checkpoint thread exited (${code}); the main connection checkpoints again`, {
          cause: failure,
        }),
      );
    }),
  );
  return {
    close() {
      closing ??= (async () => {
        // Held while closing: an unreferenced thread may let the process exit while close() waits
        // for it, before the rest of shutdown (the main connection's close, the last log lines).
        worker.ref();
        worker.postMessage({ kind: 'close' });
        // A checkpoint stuck on the disk must not hold shutdown: the log is whole without it.
        const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
        takeBack();
      })();
      return closing;
    },
  };
}
