/**
 * Prometheus metrics (`GET /metrics`). One registry per app instance, so tests and several apps
 * in one process do not share counters. Gauges that describe the queue are collected from the
 * store at scrape time (`collectQueue`), so every process reports the shared truth.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface QueueSnapshot {
  pending: number;
  held: number;
  oldestPendingAgeSeconds: number;
  openCircuits: number;
}

export class Metrics {
  readonly registry = new Registry();

  readonly deliveries = new Counter({
    name: 'callhook_deliveries_total',
    help: 'Deliveries that reached a final state or were scheduled for retry, by integration and outcome',
    labelNames: ['integration', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly attemptDuration = new Histogram({
    name: 'callhook_attempt_duration_seconds',
    help: 'Duration of delivery attempts (request sent to response read), by integration type',
    labelNames: ['type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly eventsIngested = new Counter({
    name: 'callhook_events_ingested_total',
    help: 'Call events accepted, duplicated or rejected at ingest',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly ivrInvocations = new Counter({
    name: 'callhook_ivr_invocations_total',
    help: 'IVR invocations by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor(collectQueue?: () => Promise<QueueSnapshot>) {
    // prom-client's own names start `process_` and `nodejs_`: `callhook_process_cpu_seconds_total`,
    // `callhook_nodejs_eventloop_lag_seconds` (a `callhook_process_` prefix doubled the word).
    collectDefaultMetrics({ register: this.registry, prefix: 'callhook_' });
    if (collectQueue !== undefined) {
      let snapshot: Promise<QueueSnapshot | undefined> | undefined;
      // One store query per scrape, shared by the gauges. A store that fails it does not fail the
      // scrape (the process and ingest metrics matter most then): the queue gauges read NaN and
      // callhook_store_up 0.
      const read = () =>
        (snapshot ??= collectQueue()
          .catch(() => undefined)
          .finally(() => setImmediate(() => (snapshot = undefined))));
      new Gauge({
        name: 'callhook_store_up',
        help: 'Whether the store answered the queue gauges’ query at this scrape (1) or not (0)',
        registers: [this.registry],
        async collect() {
          this.set((await read()) === undefined ? 0 : 1);
        },
      });
      new Gauge({
        name: 'callhook_queue_depth',
        help: 'Pending deliveries',
        registers: [this.registry],
        async collect() {
          this.set((await read())?.pending ?? Number.NaN);
        },
      });
      // A subset of the depth, not a label on it: `callhook_queue_depth` keeps its one series, and
      // `callhook_queue_depth - callhook_queue_held` is what is on its way.
      new Gauge({
        name: 'callhook_queue_held',
        help: 'Pending deliveries that wait for someone to act: of disabled integrations, or held by a paused campaign (counted in callhook_queue_depth too)',
        registers: [this.registry],
        async collect() {
          this.set((await read())?.held ?? Number.NaN);
        },
      });
      new Gauge({
        name: 'callhook_queue_oldest_pending_age_seconds',
        help: 'Age of the oldest pending delivery that is due, of an enabled integration',
        registers: [this.registry],
        async collect() {
          this.set((await read())?.oldestPendingAgeSeconds ?? Number.NaN);
        },
      });
      new Gauge({
        name: 'callhook_open_circuits',
        help: 'Enabled integrations whose circuit is open (cooling down), or half-open with deliveries pending',
        registers: [this.registry],
        async collect() {
          this.set((await read())?.openCircuits ?? Number.NaN);
        },
      });
    }
  }
}
