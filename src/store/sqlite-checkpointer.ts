/**
 * Checkpoints of the SQLite write-ahead log in a worker thread (checkpoint-thread.ts).
 *
 * By default SQLite checkpoints in the connection that commits: every ~1,000 pages of log, one
 * commit also copies them into the database file and waits for the disk. On the main connection
 * that is the event loop, paid by whichever claim or completion crossed the line. With the
 * checkpointer, a thread does that copying every `intervalMs` and the main connection checkpoints
 * only as a fallback, at `fallbackPages`: it still does when the log has grown that far (the thread
 * copies pages, but only the writer, between two transactions, can finish a checkpoint so the
 * log starts over), and it takes the whole job back if the thread stops.
 */
import type SqliteDatabase from 'better-sqlite3';
import { fromThreadError, startThread, type ThreadError } from '../threads.js';

/** SQLite's own default for `wal_autocheckpoint`, restored when the thread stops. */
const SQLITE_DEFAULT_PAGES = 1000;

export interface CheckpointThreadData {
  file: string;
  intervalMs: number;
}

export type FromCheckpointThread = { kind: 'failed'; error: ThreadError };

export interface CheckpointerOptions {
  /** How often the thread checkpoints (default 100 ms). */
  intervalMs?: number;
  /** The main connection's `wal_autocheckpoint` while the thread runs (default 4,000 pages). */
  fallbackPages?: number;
  /** A checkpoint failed, or the thread stopped (the main connection checkpoints again). */
  onProblem: (error: Error) => void;
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
  // The thread never keeps the process alive; `close()` ends it.
  worker.unref();
  main.pragma(`wal_autocheckpoint = ${options.fallbackPages ?? 4000}`);
  let closing = false;
  let failure: Error | undefined;
  const takeBack = () => {
    if (main.open) main.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
  };
  worker.on('message', (message: FromCheckpointThread) =>
    options.onProblem(fromThreadError(message.error)),
  );
  // An uncaught error in the thread comes first, then its exit.
  worker.on('error', (error) => (failure = error));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      resolve();
      if (closing) return;
      takeBack();
      options.onProblem(
        new Error(`the checkpoint thread exited (${code}); the main connection checkpoints again`, {
          cause: failure,
        }),
      );
    }),
  );
  return {
    async close() {
      if (closing) return;
      closing = true;
      worker.postMessage({ kind: 'close' });
      await exited;
      takeBack();
    },
  };
}
