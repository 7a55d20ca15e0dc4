/**
 * The worker loop: claims batches from the queue, runs the injected `execute` (render + send) for
 * each, records the attempt and applies the retry policy. Any number of workers, in any number of
 * processes, share one queue; the limits live in the database (docs/delivery.md).
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { FailureStreak, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ActivityRecorder } from '../store/activity-store.js';
import type { ClaimedDelivery } from '../store/delivery-store.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';
import { CompletionBatcher } from './completion-batcher.js';
import { describeOutcome, endpointHealth, type DeliveryOutcome } from './outcome.js';
import { decide, retryPolicyOf, type RetryOptionsInput } from './retry-policy.js';
import { loggedResponse, recordResponse, type RecordedResponse } from './recorded.js';

/**
 * How often a worker looks for parked deliveries that nothing will release (see unparkOrphans) and
 * for pending deliveries of deleted integrations (see cancelOfDeleted).
 */
const SWEEP_INTERVAL_MS = 10_000;

/** After busy claims, the first empty one is retried this soon, then at doubling intervals. */
const FIRST_RETRY_MS = 5;
/** At this many empty claims in a row (5 … 160 ms apart) the worker is idle: it polls every pollIntervalMs. */
const BUSY_IDLE_CLAIMS = 7;

export interface ExecuteResult {
  outcome: DeliveryOutcome;
  /** The integration version the request was rendered with. */
  integrationVersion: number;
  /** The request as sent, secrets already masked (JSON-serialisable); null when none was built. */
  request: unknown;
  /**
   * The response as received (first 64 KiB), a SOAP fault's or a non-SOAP answer's included;
   * null when nothing answered. Absent: what `outcome` holds of it.
   */
  response?: RecordedResponse | null | undefined;
  /** The integration's options: `retry` and `successStatuses` shape the retry policy. */
  options?: RetryOptionsInput | undefined;
  /** `http` or `soap`: labels the attempt duration histogram. */
  integrationType?: string | undefined;
}

/**
 * Renders and sends one delivery. Expected failures are outcomes; a throw is treated as a
 * retryable internal error. `signal` aborts when the worker stops past its grace period.
 */
export type Execute = (delivery: ClaimedDelivery, signal: AbortSignal) => Promise<ExecuteResult>;

export interface WorkerOptions {
  queue: DeliveryQueue;
  execute: Execute;
  /** Lease owner name; default a random one. */
  id?: string;
  /** Deliveries in flight at once in this worker (default 64). */
  concurrency?: number;
  /** Sleep when nothing was due (default 200 ms); `notify()` wakes earlier. */
  pollIntervalMs?: number;
  /** How long `stop()` lets in-flight deliveries finish before aborting them (default 10 s). */
  stopGraceMs?: number;
  clock?: () => number;
  random?: () => number;
  logger?: Logger;
  /** Counts decisions per integration and times attempts. */
  metrics?: Pick<Metrics, 'deliveries' | 'attemptDuration'>;
  /** Counts decisions per owner and minute, for the dashboard (src/store/activity-store.ts). */
  activity?: Pick<ActivityRecorder, 'noteDelivery'>;
}

/**
 * ### Examples
 * ```ts
 * const worker = new DeliveryWorker({ queue, execute: (d, signal) => send(d, signal) });
 * worker.start();
 * // on SIGTERM:
 * await worker.stop();
 * ```
 */
export class DeliveryWorker {
  readonly id: string;
  private readonly queue: DeliveryQueue;
  private readonly execute: Execute;
  private readonly concurrency: number;
  private readonly pollIntervalMs: number;
  private readonly stopGraceMs: number;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly logger: Logger | undefined;
  private readonly metrics: WorkerOptions['metrics'];
  private readonly activity: WorkerOptions['activity'];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private readonly completions: CompletionBatcher;
  /** A store that is down fails every claim and sweep: each logged once per outage. */
  private readonly claims: FailureStreak;
  private readonly sweeps: FailureStreak;

  constructor(options: WorkerOptions) {
    this.queue = options.queue;
    this.execute = options.execute;
    this.id = options.id ?? `worker-${randomUUID()}`;
    this.concurrency = options.concurrency ?? 64;
    // Every delivery in flight listens on the stop signal: as many listeners as the concurrency,
    // not a leak (Node warns past 10).
    setMaxListeners(this.concurrency + 1, this.abort.signal);
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.stopGraceMs = options.stopGraceMs ?? 10_000;
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.activity = options.activity;
    this.completions = new CompletionBatcher((items) => this.queue.completeMany(items));
    this.claims = new FailureStreak(this.logger, 'claiming deliveries', { worker: this.id });
    this.sweeps = new FailureStreak(this.logger, 'sweeping parked deliveries');
  }

  /** Starts claiming in the background. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Something was enqueued: claim now rather than at the next poll. */
  notify(): void {
    this.wake?.();
  }

  /** Deliveries being executed right now. */
  get busy(): number {
    return this.inFlight.size;
  }

  /**
   * Claims one batch (up to the free slots) and runs it to the end; answers how many were claimed.
   * For tests with an injected clock, and for one-shot tools.
   */
  async runOnce(): Promise<number> {
    const batch = await this.queue.claim(this.id, this.concurrency - this.inFlight.size);
    for (const delivery of batch) this.track(delivery);
    await Promise.all([...this.inFlight]);
    return batch.length;
  }

  /**
   * Stops claiming, lets in-flight deliveries finish for `stopGraceMs`, then aborts the rest:
   * those are released (due again at once) rather than counted as attempts, unless the remote
   * answered all the same.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loopDone;
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.stopGraceMs);
      });
      await Promise.race([Promise.all([...this.inFlight]), grace]);
      clearTimeout(timer);
      this.abort.abort();
      await Promise.all([...this.inFlight]);
    }
  }

  /**
   * The periodic housekeeping: parked deliveries nothing would release, and pending deliveries of
   * deleted integrations nothing would send (an ingest racing the delete stored them).
   */
  private async sweep(): Promise<{ released: number; cancelled: number }> {
    const released = await this.queue.sweepParked();
    const cancelled = await this.queue.sweepDeleted();
    return { released, cancelled };
  }

  private async loop(): Promise<void> {
    let lastSweep = this.clock();
    // Empty claims in a row since the last one that found work (`BUSY_IDLE_CLAIMS` ends a streak).
    let idleClaims = BUSY_IDLE_CLAIMS;
    while (this.running) {
      if (this.clock() - lastSweep >= SWEEP_INTERVAL_MS) {
        lastSweep = this.clock();
        await this.sweep().then(
          ({ released, cancelled }) => {
            this.sweeps.succeeded();
            if (released > 0)
              this.logger?.warn(
                { released },
                'released parked deliveries whose predecessors were done',
              );
            if (cancelled > 0)
              this.logger?.warn(
                { cancelled },
                'cancelled pending deliveries of deleted integrations',
              );
          },
          (error: unknown) => this.sweeps.failed(error),
        );
      }
      const free = this.concurrency - this.inFlight.size;
      // A busy worker waits for a quarter of its slots to free up, so each claim (a write
      // transaction) takes a batch rather than one delivery at a time.
      const worthClaiming =
        this.inFlight.size === 0 ? 1 : Math.max(1, Math.floor(this.concurrency / 4));
      const triedToClaim = free >= worthClaiming;
      let claimed = 0;
      if (triedToClaim) {
        try {
          const batch = await this.queue.claim(this.id, free);
          this.claims.succeeded();
          claimed = batch.length;
          for (const delivery of batch) this.track(delivery);
        } catch (error) {
          this.claims.failed(error);
        }
      }
      if (!this.running) break;
      if (claimed > 0) idleClaims = 0;
      // Something was claimed with slots to spare: more may be due in other lanes, look again.
      if (claimed > 0 && claimed < free) continue;
      // An empty claim right after busy ones is often a lane another process was claiming from
      // (skipped, not empty): look again soon, backing off to the poll interval as it stays empty.
      // (A worker with too few free slots to claim sleeps until one frees up.)
      if (triedToClaim && claimed === 0) idleClaims = Math.min(idleClaims + 1, BUSY_IDLE_CLAIMS);
      await this.sleep(
        !triedToClaim || idleClaims === 0 || idleClaims === BUSY_IDLE_CLAIMS
          ? this.pollIntervalMs
          : Math.min(this.pollIntervalMs, FIRST_RETRY_MS * 2 ** (idleClaims - 1)),
      );
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private track(delivery: ClaimedDelivery): void {
    const task = this.run(delivery).finally(() => {
      this.inFlight.delete(task);
      // A slot freed: a saturated worker may claim again.
      this.wake?.();
    });
    this.inFlight.add(task);
  }

  private async run(delivery: ClaimedDelivery): Promise<void> {
    // Made when a line is written: a child logger per delivery (bindings redacted) cost ~1 % of a
    // busy worker's CPU, for a debug line that is off by default.
    const log = () =>
      this.logger?.child({ deliveryId: delivery.id, integrationId: delivery.integrationId });
    const startedAt = this.clock();
    const started = performance.now();
    let result: ExecuteResult;
    try {
      result = await this.execute(delivery, this.abort.signal);
    } catch (error) {
      log()?.error({ err: error }, 'delivery execute threw');
      result = {
        outcome: {
          kind: 'network-error',
          code: 'EXECUTE_THREW',
          message: error instanceof Error ? error.message : String(error),
          durationMs: performance.now() - started,
        },
        integrationVersion: 0,
        request: null,
      };
    }
    try {
      const outcome = result.outcome;
      if (this.abort.signal.aborted && !answered(outcome)) {
        // Cut short by stop(): not the remote's fault, so not an attempt. (An answer that came in
        // as the grace ran out is recorded like any other.)
        await this.queue.release([delivery]);
        return;
      }
      const policy = retryPolicyOf(result.options);
      const decision = decide(delivery.budgetAttempt, outcome, this.clock(), this.random, policy);
      const durationMs =
        'durationMs' in outcome && outcome.durationMs !== undefined
          ? outcome.durationMs
          : performance.now() - started;
      const response = result.response === undefined ? responseOf(outcome) : result.response;
      const { applied, disabled } = await this.completions.add(delivery, {
        decision,
        // A status the integration lists as success (503 in `successStatuses`) is the remote up,
        // whatever that status says of other remotes: successes never open a circuit.
        health: decision.kind === 'succeeded' ? 'up' : endpointHealth(outcome),
        record: {
          integrationVersion: result.integrationVersion,
          startedAt,
          durationMs,
          request: JSON.stringify(result.request ?? null),
          response: response === null ? null : JSON.stringify(loggedResponse(response)),
          error: decision.kind === 'succeeded' ? null : describeOutcome(outcome),
        },
        lastStatus: statusOf(outcome),
        error: decision.kind === 'succeeded' ? null : decision.reason,
      });
      // An attempt whose request rendered has a duration (one refused by the network policy or
      // failing to connect too); a delivery counts once its next state holds.
      if (result.request !== null && result.request !== undefined)
        this.metrics?.attemptDuration.observe(
          { type: result.integrationType ?? 'unknown' },
          durationMs / 1000,
        );
      if (applied) {
        this.metrics?.deliveries.inc({
          integration: delivery.integrationId,
          outcome: decision.kind,
        });
        this.activity?.noteDelivery(delivery.ownerId, decision.kind);
      }
      // The owner sees it on the integration (`disabledReason`); the operator in the log.
      if (disabled !== undefined)
        this.logger?.warn(
          { integrationId: delivery.integrationId, deliveryId: delivery.id, reason: disabled },
          'integration disabled',
        );
      if (this.logger?.isLevelEnabled('debug'))
        log()?.debug(
          { decision: decision.kind, applied, attempt: delivery.attempt },
          'delivery attempt',
        );
    } catch (error) {
      // The database is unreachable: the lease runs out and the delivery is claimed again.
      log()?.error({ err: error }, 'recording the delivery attempt failed');
    }
  }
}

/** The remote answered: a status, or a SOAP fault. */
function answered(outcome: DeliveryOutcome): boolean {
  return (
    outcome.kind === 'response' ||
    outcome.kind === 'soap-fault' ||
    outcome.kind === 'not-soap' ||
    outcome.kind === 'response-too-large'
  );
}

function statusOf(outcome: DeliveryOutcome): number | null {
  if (outcome.kind === 'response') return outcome.status;
  if (outcome.kind === 'soap-fault') return outcome.status ?? null;
  if (outcome.kind === 'not-soap') return outcome.status;
  if (outcome.kind === 'response-too-large') return outcome.status ?? null;
  return null;
}

/**
 * Status, headers and the first 64 KiB of the body, from an outcome, for an execute that gives no
 * `response` of its own; null when nothing answered.
 */
function responseOf(outcome: DeliveryOutcome): RecordedResponse | null {
  const status = statusOf(outcome);
  if (status === null) return null;
  const headers = 'headers' in outcome ? (outcome.headers ?? []) : [];
  const response = outcome.kind === 'response' ? outcome : undefined;
  return recordResponse(
    status,
    headers,
    response?.body ?? '',
    response?.bodyTruncated === true,
    response?.bodyError,
  );
}
