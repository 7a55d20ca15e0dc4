/**
 * The log of IVR invocations (SPEC §5: "each invocation is logged like a delivery"). Each one is
 * a `deliveries` row of kind `ivr`, already final (`succeeded` or `failed`, one attempt, never
 * retried), with its single `attempts` row (ivr-log-rows.ts), so it lists with the deliveries and
 * opens with the same attempt detail.
 *
 * The caller is on the line while Callhook answers, so the route does not wait for this write:
 * `append()` hands the record over and returns.
 * - On SQLite a worker thread with its own connection stores the records (ivr-log-thread.ts):
 *   better-sqlite3 runs statements and commits on the thread that calls it, and on the event loop
 *   every log commit held every waiting caller (~1 ms per 25 rows; more on a busy disk).
 * - On PostgreSQL the writes are asynchronous already: records gather for up to `flushDelayMs`
 *   and go as one multi-row insert per table, in one transaction per batch.
 *
 * `flush()` resolves once everything appended before it is stored (or reported lost); `close()`
 * flushes and stops the thread. A crash loses at most the records not yet stored, never a
 * delivery.
 */
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import type { Kysely } from 'kysely';
import type { Store } from './db.js';
import type { Database } from './schema.js';
import { attemptRow, deliveryRow, type IvrInvocationRecord } from './ivr-log-rows.js';
import { fromThreadError, startThread, type ThreadError } from '../threads.js';

export type { IvrInvocationRecord, IvrOutcome } from './ivr-log-rows.js';

/**
 * Records per transaction. On SQLite the thread's transaction holds the database's write lock,
 * and a write on the main connection meanwhile sleeps in SQLite's busy handler, event loop and
 * all: 64 invocations hold it ~2–3 ms. PostgreSQL has no such lock.
 */
export const SQLITE_BATCH_SIZE = 64;
export const POSTGRES_BATCH_SIZE = 500;

export interface IvrLogStoreOptions {
  /** Records stored per transaction (default 64 on SQLite, 500 on PostgreSQL). */
  batchSize?: number;
  /** PostgreSQL: how long a record may wait for its batch (default 100 ms); a full batch goes at once. */
  flushDelayMs?: number;
  /** A batch could not be stored (the database is down): its records are lost, not retried. */
  onError?: (error: unknown, lost: number) => void;
  /** SQLite: the thread's module (default `ivr-log-thread.js`); tests give one that dies. */
  threadScript?: URL;
}

/** Where the records go: the SQLite thread or PostgreSQL batches. */
interface LogWriter {
  append(record: IvrInvocationRecord): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export class IvrLogStore {
  private readonly writer: LogWriter;

  constructor(store: Pick<Store, 'db' | 'backend' | 'file'>, options: IvrLogStoreOptions = {}) {
    const onError = options.onError ?? (() => undefined);
    if (store.backend === 'sqlite') {
      if (store.file === undefined) throw new Error('a SQLite store without its file');
      const batchSize = options.batchSize ?? SQLITE_BATCH_SIZE;
      const script = options.threadScript ?? new URL('./ivr-log-thread.js', import.meta.url);
      this.writer = new SqliteLogThread(script, { file: store.file, batchSize }, onError);
    } else {
      this.writer = new PostgresLogWriter(
        store.db,
        options.batchSize ?? POSTGRES_BATCH_SIZE,
        options.flushDelayMs ?? 100,
        onError,
      );
    }
  }

  /** Queues `record`; it is stored soon, without the caller waiting. */
  append(record: IvrInvocationRecord): void {
    this.writer.append(record);
  }

  /** Resolves when every record appended so far is stored (or reported lost). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Flushes, then releases what the writer holds (the SQLite thread). */
  close(): Promise<void> {
    return this.writer.close();
  }
}

const POST_BATCH = 64;
const POST_DELAY_MS = 10;

/** What the SQLite thread starts with. */
export interface LogThreadData {
  file: string;
  batchSize: number;
}

/** Main thread → log thread. */
export type ToLogThread =
  | { kind: 'records'; records: IvrInvocationRecord[] }
  | { kind: 'flush'; id: number }
  | { kind: 'close' };

/** Log thread → main thread: once per transaction, and once per flush. */
export type FromLogThread =
  | { kind: 'stored'; count: number }
  | { kind: 'lost'; count: number; error: ThreadError }
  | { kind: 'flushed'; id: number };

/** One log thread and what it has not answered yet. */
interface LogThread {
  worker: Worker;
  /** Records posted and not yet reported stored or lost. */
  outstanding: number;
  flushes: Map<number, () => void>;
  ended: boolean;
}

/**
 * The main thread's end of the SQLite log thread, started at the first record. Records cross in
 * one message per POST_BATCH records or POST_DELAY_MS, whichever comes first: a message costs the
 * event loop about the same whatever it holds (one per invocation was ~30 µs of each, profiled).
 * The thread keeps the process alive only while records or a flush are outstanding, so an idle
 * service can still exit. A thread that dies has its outstanding records reported lost, and the
 * next record starts another.
 */
class SqliteLogThread implements LogWriter {
  private thread: LogThread | undefined;
  private queued: IvrInvocationRecord[] = [];
  private posting: NodeJS.Timeout | undefined;
  private nextFlush = 0;
  private closed = false;

  constructor(
    private readonly script: URL,
    private readonly data: LogThreadData,
    private readonly onError: (error: unknown, lost: number) => void,
  ) {}

  append(record: IvrInvocationRecord): void {
    if (this.closed) {
      this.onError(new Error('the IVR log is closed'), 1);
      return;
    }
    this.queued.push(record);
    if (this.queued.length >= POST_BATCH) this.post();
    else if (this.posting === undefined) {
      this.posting = setTimeout(() => this.post(), POST_DELAY_MS);
      this.posting.unref();
    }
  }

  async flush(): Promise<void> {
    this.post();
    const thread = this.thread;
    if (thread === undefined) return;
    const id = (this.nextFlush += 1);
    const done = new Promise<void>((resolve) => thread.flushes.set(id, resolve));
    this.send({ kind: 'flush', id });
    await done;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    const thread = this.thread;
    if (thread === undefined) return;
    this.thread = undefined;
    thread.worker.ref();
    const exited = once(thread.worker, 'exit');
    thread.worker.postMessage({ kind: 'close' } satisfies ToLogThread);
    await exited;
  }

  private post(): void {
    clearTimeout(this.posting);
    this.posting = undefined;
    if (this.queued.length === 0) return;
    const records = this.queued;
    this.queued = [];
    this.send({ kind: 'records', records });
  }

  private send(message: ToLogThread): void {
    const thread = (this.thread ??= this.start());
    if (message.kind === 'records') thread.outstanding += message.records.length;
    thread.worker.ref();
    thread.worker.postMessage(message);
  }

  private start(): LogThread {
    const worker = startThread(this.script, this.data);
    const thread: LogThread = { worker, outstanding: 0, flushes: new Map(), ended: false };
    worker.on('message', (message: FromLogThread) => this.receive(thread, message));
    worker.on('error', (error) => this.stopped(thread, error));
    worker.on('exit', (code) => this.stopped(thread, new Error(`the log thread exited (${code})`)));
    return thread;
  }

  private receive(thread: LogThread, message: FromLogThread): void {
    if (message.kind === 'flushed') {
      thread.flushes.get(message.id)?.();
      thread.flushes.delete(message.id);
    } else {
      thread.outstanding -= message.count;
      if (message.kind === 'lost') this.onError(fromThreadError(message.error), message.count);
    }
    if (thread.outstanding === 0 && thread.flushes.size === 0) thread.worker.unref();
  }

  /** `thread` ended (closed, or died): what it still held is lost; its waiters are released. */
  private stopped(thread: LogThread, error: Error): void {
    if (thread.ended) return;
    thread.ended = true;
    if (this.thread === thread) this.thread = undefined;
    if (thread.outstanding > 0) this.onError(error, thread.outstanding);
    thread.outstanding = 0;
    for (const resolve of thread.flushes.values()) resolve();
    thread.flushes.clear();
  }
}

/**
 * PostgreSQL: records gather for up to `flushDelayMs` (a full batch goes at once) and each batch
 * is one transaction of one multi-row insert per table: one round trip each, whatever its size.
 */
class PostgresLogWriter implements LogWriter {
  private queued: IvrInvocationRecord[] = [];
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly batchSize: number,
    private readonly flushDelayMs: number,
    private readonly onError: (error: unknown, lost: number) => void,
  ) {}

  append(record: IvrInvocationRecord): void {
    this.queued.push(record);
    if (this.queued.length >= this.batchSize) this.start();
    else if (this.timer === undefined && this.writing === undefined) {
      this.timer = setTimeout(() => this.start(), this.flushDelayMs);
      this.timer.unref();
    }
  }

  async flush(): Promise<void> {
    if (this.queued.length > 0) this.start();
    while (this.writing !== undefined) await this.writing;
  }

  close(): Promise<void> {
    return this.flush();
  }

  private start(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        const batch = this.queued.splice(0, this.batchSize);
        try {
          await this.db.transaction().execute(async (trx) => {
            await trx.insertInto('deliveries').values(batch.map(deliveryRow)).execute();
            await trx.insertInto('attempts').values(batch.map(attemptRow)).execute();
          });
        } catch (error) {
          this.onError(error, batch.length);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}
