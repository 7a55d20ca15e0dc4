/**
 * The SQLite checkpointer's thread (started by sqlite-checkpointer.ts): its own connection to the
 * database file copies committed pages from the write-ahead log into the database every
 * `intervalMs`, so that work, and its wait for the disk, is not done by the connection that
 * commits claims and completions on the event loop.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import { configureConnection } from './sqlite-backend.js';
import { toThreadError } from '../threads.js';
import type { CheckpointThreadData, FromCheckpointThread } from './sqlite-checkpointer.js';

function serve(port: MessagePort, { file, intervalMs }: CheckpointThreadData): void {
  let db: SqliteDatabase.Database | undefined;
  // A failure is reported once, not every interval, until a checkpoint succeeds again. A failure
  // does not stop the thread: a full disk fails every checkpoint until there is room (SQLITE_FULL,
  // the connection still good), then the next one copies what waited.
  let failing = false;

  const checkpoint = () => {
    try {
      db ??= open(file);
      // PASSIVE never waits for the writer or for readers: it copies what it can and returns.
      db.pragma('wal_checkpoint(PASSIVE)');
      // A disk that was full has room again: the warning it logged is over.
      if (failing) port.postMessage({ kind: 'recovered' } satisfies FromCheckpointThread);
      failing = false;
    } catch (error) {
      if (!failing)
        port.postMessage({
          kind: 'failed',
          error: toThreadError(error),
        } satisfies FromCheckpointThread);
      failing = true;
    }
  };

  const timer = setInterval(checkpoint, intervalMs);
  port.on('message', (message: { kind: 'close' }) => {
    if (message.kind !== 'close') return;
    clearInterval(timer);
    db?.close();
    port.close();
  });
}

function open(file: string): SqliteDatabase.Database {
  const db = new SqliteDatabase(file, { fileMustExist: true });
  // Checkpoints wait for the disk as the main connection's own would (FULL syncs the log first).
  configureConnection(db, 'FULL');
  return db;
}

if (parentPort === null) throw new Error('checkpoint-thread.ts runs as a worker thread');
serve(parentPort, workerData as CheckpointThreadData);
