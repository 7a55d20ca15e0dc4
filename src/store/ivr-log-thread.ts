/**
 * The SQLite side of the IVR invocation log, run in a worker thread that ivr-log-store.ts starts.
 * It has its own connection to the database file, so its commits (and their wait for the disk)
 * never hold the event loop that answers callers. Everything that has arrived when the thread gets
 * to it is stored together, `batchSize` records per transaction (a millisecond apart), each
 * invocation's two rows in the same one.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import { attemptRow, deliveryRow, type IvrInvocationRecord } from './ivr-log-rows.js';
import { configureConnection } from './sqlite-backend.js';
import { toThreadError } from '../threads.js';
import type { FromLogThread, LogThreadData, ToLogThread } from './ivr-log-store.js';

function serve(port: MessagePort, { file, batchSize }: LogThreadData): void {
  let db: SqliteDatabase.Database | undefined;
  let insert: { delivery: SqliteDatabase.Statement; attempt: SqliteDatabase.Statement } | undefined;

  const open = (): SqliteDatabase.Database => {
    if (db !== undefined) return db;
    const opened = new SqliteDatabase(file, { fileMustExist: true });
    // A log line is not worth a wait for the disk: in WAL mode (set by the main connection) a
    // crash of the process loses nothing committed; a power cut may lose the last batches.
    configureConnection(opened, 'NORMAL');
    db = opened;
    return opened;
  };

  const store = (records: IvrInvocationRecord[]): void => {
    const connection = open();
    insert ??= {
      delivery: connection.prepare(insertOf('deliveries', deliveryRow(records[0]!))),
      attempt: connection.prepare(insertOf('attempts', attemptRow(records[0]!))),
    };
    const { delivery, attempt } = insert;
    connection.transaction(() => {
      for (const record of records) {
        delivery.run(deliveryRow(record));
        attempt.run(attemptRow(record));
      }
    })();
  };

  // Between two transactions the lock is left free for a moment: a write on the main connection
  // waiting for it sleeps in SQLite's busy handler (1, 2, 5 ms…) and would otherwise find it
  // taken again at every retry.
  const pause = () => new Promise((resolve) => setTimeout(resolve, 1));
  let lastWrite = -Infinity;

  /** Stores the records of `messages` in order, then answers their flushes (or closes). */
  const handle = async (messages: ToLogThread[]): Promise<boolean> => {
    const records = messages.flatMap((message) =>
      message.kind === 'records' ? message.records : [],
    );
    for (let start = 0; start < records.length; start += batchSize) {
      if (performance.now() - lastWrite < 1) await pause();
      const batch = records.slice(start, start + batchSize);
      let reply: FromLogThread = { kind: 'stored', count: batch.length };
      try {
        store(batch);
      } catch (error) {
        reply = { kind: 'lost', count: batch.length, error: toThreadError(error) };
      }
      lastWrite = performance.now();
      port.postMessage(reply);
    }
    for (const message of messages) {
      if (message.kind === 'flush') port.postMessage({ kind: 'flushed', id: message.id });
      if (message.kind === 'close') {
        db?.close();
        port.close();
        return false;
      }
    }
    return true;
  };

  // Messages wait in `inbox` while a batch is written; what gathered meanwhile goes together.
  let inbox: ToLogThread[] = [];
  let draining = false;
  const drain = async () => {
    draining = true;
    let open = true;
    while (open && inbox.length > 0) {
      const messages = inbox;
      inbox = [];
      open = await handle(messages);
    }
    draining = false;
  };
  port.on('message', (message: ToLogThread) => {
    inbox.push(message);
    if (!draining) void drain();
  });
}

/** `insert into "t" ("a", "b") values (@a, @b)`: a row object's keys are its columns. */
function insertOf(table: string, row: object): string {
  const columns = Object.keys(row);
  const names = columns.map((column) => `"${column}"`).join(', ');
  return `insert into "${table}" (${names}) values (${columns.map((c) => `@${c}`).join(', ')})`;
}

if (parentPort === null) throw new Error('ivr-log-thread.ts runs as a worker thread');
serve(parentPort, workerData as LogThreadData);
