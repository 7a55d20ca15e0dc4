/**
 * Concurrent identical IVR invocations share one request (single-flight): 200 callers asking the
 * same uncached lookup at once would otherwise send it 200 times before the first answer reaches
 * the answer cache. Used only for integrations with an answer cache (`cacheTtlSeconds`), keyed
 * by the same rendered request (ivr-answer-cache.ts).
 *
 * Each caller keeps its own deadline: it waits for the shared run until its deadline and no
 * longer, and the run is not cut by the deadline of the caller that started it. The shared run
 * goes on while at least one caller still waits for it, up to `maxMs` after it started (the
 * longest deadline an invocation may ask for): the run is cancelled when its last caller's
 * deadline passes, as a caller's own request was. A caller whose deadline would end after the
 * shared run's `maxMs` does not join it, and starts one of its own (later callers join that one).
 * The value a run settles with is the same object for every caller, a failure as much as a
 * success: a failing remote is asked once for all the callers waiting on it (as Go's singleflight
 * shares an error). What each does with it is theirs to decide; the IVR route answers it, and
 * asks again only after a connect failure, through `wait` again (so that second try is shared).
 */
import { performance } from 'node:perf_hooks';

/** What one caller got from `SharedRuns.wait`. */
export type SharedWait<T> =
  /** The run settled before this caller's deadline; `started`: this caller started it. */
  | { kind: 'settled'; value: T; started: boolean }
  /** This caller's deadline passed first; `settled` is the run, which may still go on. */
  | { kind: 'deadline'; settled: Promise<T>; started: boolean };

interface Run<T> {
  settled: Promise<T>;
  abort: AbortController;
  /** The clock's time at which the run's own limit (`maxMs`) ends it. */
  endsAt: number;
  waiting: number;
  done: boolean;
}

export interface SharedRunsOptions {
  /** How long a shared run may go on after it started, whoever waits for it. */
  maxMs: number;
  /** Milliseconds, monotonic (default performance.now). */
  clock?: () => number;
}

export class SharedRuns<T> {
  private readonly runs = new Map<string, Run<T>>();
  private readonly clock: () => number;

  constructor(private readonly options: SharedRunsOptions) {
    this.clock = options.clock ?? (() => performance.now());
  }

  /**
   * Waits until `endsAt` (on the clock) for the run under `key`, joining the one in flight when
   * it can go on that long, else starting `start` (given at most `maxMs` and a signal that aborts
   * when no caller waits any more). `start` must not throw for an expected failure: a rejection
   * reaches every caller waiting.
   *
   * ### Example
   * ```ts
   * const got = await runs.wait(key, performance.now() + 2500, (maxMs, signal) =>
   *   runner.run(integration, scope, { timeoutMs: maxMs, signal }),
   * );
   * if (got.kind === 'deadline') return timeout();
   * ```
   */
  async wait(
    key: string,
    endsAt: number,
    start: (maxMs: number, signal: AbortSignal) => Promise<T>,
  ): Promise<SharedWait<T>> {
    const now = this.clock();
    let run = this.runs.get(key);
    const started = run === undefined || run.endsAt < endsAt;
    if (run === undefined || started) run = this.start(key, now, start);
    run.waiting += 1;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, endsAt - now), 'deadline');
    });
    const got = await Promise.race([run.settled, deadline]).finally(() => clearTimeout(timer));
    run.waiting -= 1;
    if (got !== 'deadline') return { kind: 'settled', value: got, started };
    if (run.waiting === 0 && !run.done) {
      // Nobody waits for it any more: it stops, as a caller's own request stopped at its deadline.
      if (this.runs.get(key) === run) this.runs.delete(key);
      run.abort.abort();
    }
    return { kind: 'deadline', settled: run.settled, started };
  }

  /** Runs in flight (a joinable one per key). */
  get size(): number {
    return this.runs.size;
  }

  private start(
    key: string,
    now: number,
    start: (maxMs: number, signal: AbortSignal) => Promise<T>,
  ): Run<T> {
    const abort = new AbortController();
    const run: Run<T> = {
      settled: start(this.options.maxMs, abort.signal),
      abort,
      endsAt: now + this.options.maxMs,
      waiting: 0,
      done: false,
    };
    const end = (): void => {
      run.done = true;
      if (this.runs.get(key) === run) this.runs.delete(key);
    };
    // A rejection is the waiting callers' to report; with none left it must not go unhandled.
    run.settled.then(end, end);
    this.runs.set(key, run);
    return run;
  }
}
