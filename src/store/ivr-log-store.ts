/**
 * The log of IVR invocations (SPEC §5: "each invocation is logged like a delivery"). Each one is
 * a `deliveries` row of kind `ivr`, already final (`succeeded` or `failed`, one attempt, never
 * retried), with its single `attempts` row, so it lists with the deliveries and opens with the
 * same attempt detail.
 *
 * The caller is on the line while Callhook answers, so the route does not wait for this write:
 * `append()` queues the record and a writer stores what has queued, every `flushDelayMs`, in one
 * transaction per batch (each invocation's two rows always together; on SQLite small batches with
 * a turn of the event loop between them, see SQLITE_BATCH_SIZE). A commit on SQLite waits
 * for the disk (`synchronous = FULL`) and blocks the event loop meanwhile, so one commit per
 * invocation would cost every caller that wait; one per batch costs it rarely (and on SQLite the
 * batch's commit does not wait for the disk, see write()). `flush()` stores everything queued so
 * far (the app's close calls it); a crash loses at most the batch being gathered, never a
 * delivery.
 */
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { Store } from './db.js';
import type { Database } from './schema.js';
import type { RecordedRequest, RecordedResponse } from '../delivery/integration-runner.js';

export type IvrOutcome = 'success' | 'failure' | 'timeout' | 'error';

export interface IvrInvocationRecord {
  /** The delivery id; also sent as `Idempotency-Key`. */
  id: string;
  /** The integration's owner (who sees it with their deliveries). */
  ownerId: string;
  integrationId: string;
  /** 0 when nothing was rendered (a disabled integration). */
  integrationVersion: number;
  campaignId: string | null;
  contactId: string | null;
  startedAt: number;
  durationMs: number;
  outcome: IvrOutcome;
  /** The HTTP status the remote answered, if it answered. */
  status: number | null;
  /** Why it was not a success; null on success. */
  reason: string | null;
  /** As sent, secrets masked; null when nothing was sent. */
  request: RecordedRequest | null;
  response: RecordedResponse | null;
  /** Answered from the IVR answer cache: the invocation that asked the remote. */
  cachedFrom?: string;
}

/**
 * Records per transaction. better-sqlite3 runs a transaction on the event loop, so on SQLite a
 * batch is kept small enough to take a millisecond or two (a 100-record batch held every waiting
 * caller for ~10 ms on a busy machine), with a turn of the event loop between batches.
 */
export const SQLITE_BATCH_SIZE = 25;
export const POSTGRES_BATCH_SIZE = 500;

export interface IvrLogStoreOptions {
  /** Records stored per transaction (default 25 on SQLite, 500 on PostgreSQL). */
  batchSize?: number;
  /** How long a record may wait for its batch (default 100 ms); a full batch goes at once. */
  flushDelayMs?: number;
  /** A batch could not be stored (the database is down): its records are lost, not retried. */
  onError?: (error: unknown, lost: number) => void;
}

export class IvrLogStore {
  private readonly db: Kysely<Database>;
  private queued: IvrInvocationRecord[] = [];
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  private readonly sqlite: boolean;
  private readonly batchSize: number;
  /** SQLite: the one-row inserts' SQL, compiled with the first batch. */
  private statements: { delivery: string; attempt: string } | undefined;

  constructor(
    store: Pick<Store, 'db' | 'backend'>,
    private readonly options: IvrLogStoreOptions = {},
  ) {
    this.db = store.db;
    this.sqlite = store.backend === 'sqlite';
    this.batchSize = options.batchSize ?? (this.sqlite ? SQLITE_BATCH_SIZE : POSTGRES_BATCH_SIZE);
  }

  /** Queues `record`; it is stored with the next batch. */
  append(record: IvrInvocationRecord): void {
    this.queued.push(record);
    if (this.queued.length >= this.batchSize) this.start();
    else if (this.timer === undefined && this.writing === undefined) {
      this.timer = setTimeout(() => this.start(), this.options.flushDelayMs ?? 100);
      this.timer.unref();
    }
  }

  /** Resolves when every record appended so far is stored (or reported lost). */
  async flush(): Promise<void> {
    if (this.queued.length > 0) this.start();
    while (this.writing !== undefined) await this.writing;
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
          await this.write(batch);
        } catch (error) {
          this.options.onError?.(error, batch.length);
        }
        // Requests that arrived during a SQLite write run before the next batch's.
        if (this.sqlite && this.queued.length > 0) await new Promise(setImmediate);
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** Stores `records` now, in one transaction: each delivery row with its attempt row. */
  async write(records: readonly IvrInvocationRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (!this.sqlite) {
      // One multi-row insert per table: one round trip each, whatever the batch's size.
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('deliveries').values(records.map(deliveryRow)).execute();
        await trx.insertInto('attempts').values(records.map(attemptRow)).execute();
      });
      return;
    }
    // SQLite has no round trips to save. A multi-row insert's text differs with every batch size,
    // so each batch prepared a new statement (and pushed the delivery worker's out of the
    // statement cache): here the same one-row statements run once per record instead.
    if (this.statements === undefined) {
      const [first] = records as [IvrInvocationRecord];
      const [delivery, attempt] = [deliveryRow(first), attemptRow(first)];
      this.statements = {
        delivery: oneRowInsert(
          this.db.insertInto('deliveries').values(delivery).compile(),
          delivery,
        ),
        attempt: oneRowInsert(this.db.insertInto('attempts').values(attempt).compile(), attempt),
      };
    }
    const { delivery, attempt } = this.statements;
    // better-sqlite3 commits on the event loop: with `synchronous = FULL` every commit waits for
    // the disk while callers' answers wait behind it (tens of ms on a busy disk). These rows are
    // a log, so their commit skips that flush: in WAL mode a crash of the process loses nothing,
    // a power cut may lose the last batch. The connection is held throughout, so no other
    // statement runs with the relaxed setting, and it is restored even when the insert fails.
    await this.db.connection().execute(async (conn) => {
      await sql`pragma synchronous = normal`.execute(conn);
      try {
        await conn.transaction().execute(async (trx) => {
          for (const record of records) {
            await trx.executeQuery(CompiledQuery.raw(delivery, Object.values(deliveryRow(record))));
            await trx.executeQuery(CompiledQuery.raw(attempt, Object.values(attemptRow(record))));
          }
        });
      } finally {
        await sql`pragma synchronous = full`.execute(conn);
      }
    });
  }
}

/**
 * The SQL of a one-row insert, to run again with another row's values in the same column order
 * (the row builders below always set every column, in a fixed order).
 */
function oneRowInsert(compiled: CompiledQuery, row: object): string {
  if (compiled.parameters.length !== Object.keys(row).length) {
    throw new Error('a log row has a column without a value: its insert cannot be reused');
  }
  return compiled.sql;
}

function deliveryRow(record: IvrInvocationRecord) {
  const completedAt = record.startedAt + Math.round(record.durationMs);
  return {
    id: record.id,
    owner_id: record.ownerId,
    integration_id: record.integrationId,
    kind: 'ivr',
    event_id: null,
    campaign_id: record.campaignId,
    contact_id: record.contactId,
    ordering_key: null,
    sequence: 0,
    status: record.outcome === 'success' ? 'succeeded' : 'failed',
    attempts: 1,
    next_attempt_at: record.startedAt,
    lease_owner: null,
    lease_until: null,
    last_error: record.reason,
    last_status: record.status,
    created_at: record.startedAt,
    updated_at: completedAt,
    completed_at: completedAt,
  };
}

function attemptRow(record: IvrInvocationRecord) {
  // The same shapes the worker logs (src/delivery/worker.ts), plus the IVR's own outcome.
  const response =
    record.response === null
      ? null
      : JSON.stringify({
          status: record.response.status,
          headers: record.response.headers,
          body: record.response.body,
          bodyTruncated: record.response.truncated,
          ivrOutcome: record.outcome,
          ...(record.cachedFrom === undefined ? {} : { cachedFrom: record.cachedFrom }),
        });
  return {
    delivery_id: record.id,
    attempt: 1,
    integration_version: record.integrationVersion,
    started_at: record.startedAt,
    duration_ms: record.durationMs,
    outcome: record.outcome === 'success' ? 'succeeded' : 'failed',
    request: JSON.stringify(record.request),
    response,
    error: record.reason === null ? null : `${record.outcome}: ${record.reason}`,
  };
}
