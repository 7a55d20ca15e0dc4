/**
 * The retry policy (SPEC §4): a pure function of the attempt number, its outcome, the time and a
 * random number, so it is tested with fixed inputs. Svix's shape: a schedule with ±20 % jitter,
 * `Retry-After` honoured but clamped, a longer pause after 429 or a timeout.
 */
import { describeOutcome, type DeliveryOutcome, type HeaderPair } from './outcome.js';

/** Delays before attempts 2…8 (attempt 1 goes out immediately): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_SCHEDULE_SECONDS: readonly number[] = [
  5, 300, 1_800, 7_200, 18_000, 36_000, 36_000,
];
export const DEFAULT_MAX_ATTEMPTS = DEFAULT_SCHEDULE_SECONDS.length + 1;
/** Each delay is multiplied by a factor drawn uniformly from [0.8, 1.2]. */
export const JITTER = 0.2;
/** `Retry-After` is honoured up to this bound; a remote asking for more is retried after it. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;
/**
 * ... and from this one: `Retry-After: 0` (or a date gone by) on every answer would spend the
 * whole retry budget within a second.
 */
export const MIN_RETRY_AFTER_MS = 1000;
/** After a 429 without `Retry-After` or a timeout, the pause is at least doubled, and ≥ 30 s. */
export const THROTTLE_FACTOR = 2;
export const MIN_THROTTLE_PAUSE_MS = 30_000;

export interface RetryPolicy {
  maxAttempts: number;
  /** Delay before attempt 2, 3, …; a shorter list repeats its last entry. */
  scheduleSeconds: readonly number[];
  /** Statuses that mean success; default any 2xx. */
  successStatuses?: readonly number[] | undefined;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
  scheduleSeconds: DEFAULT_SCHEDULE_SECONDS,
};

/** The integration options that shape the policy (`IntegrationOptions` fits). */
export interface RetryOptionsInput {
  retry?: { maxAttempts?: number | undefined; scheduleSeconds?: number[] | undefined } | undefined;
  successStatuses?: number[] | undefined;
}

/** The policy of an integration's options: its `retry` and `successStatuses` over the defaults. */
export function retryPolicyOf(options: RetryOptionsInput | undefined): RetryPolicy {
  const schedule = options?.retry?.scheduleSeconds;
  return {
    maxAttempts: options?.retry?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    scheduleSeconds:
      schedule !== undefined && schedule.length > 0 ? schedule : DEFAULT_SCHEDULE_SECONDS,
    successStatuses: options?.successStatuses,
  };
}

export type Decision =
  | { kind: 'succeeded' }
  | { kind: 'retry'; at: number; reason: string }
  | { kind: 'failed'; reason: string };

/**
 * Decides what follows attempt number `attempt` (1-based, within the current retry budget).
 *
 * ### Examples
 * ```ts
 * decide(1, { kind: 'response', status: 503, headers: [], durationMs: 12 }, now, () => 0.5, policy);
 * // → { kind: 'retry', at: now + 5_000, reason: 'HTTP 503' }
 * decide(1, { kind: 'response', status: 404, headers: [], durationMs: 12 }, now, Math.random, policy);
 * // → { kind: 'failed', reason: 'HTTP 404 is not retried' }
 * ```
 */
export function decide(
  attempt: number,
  outcome: DeliveryOutcome,
  now: number,
  random: () => number,
  policy: RetryPolicy,
): Decision {
  const reason = describeOutcome(outcome);
  const kind = classify(outcome, policy);
  if (kind === 'success') return { kind: 'succeeded' };
  if (kind === 'final') {
    // `HTTP 404 is not retried`; a longer reason is a sentence of its own, which this follows.
    const final = outcome.kind === 'response' ? ' is not retried' : ' (not retried)';
    return { kind: 'failed', reason: reason + final };
  }
  if (attempt >= policy.maxAttempts) {
    const attempts = attempt === 1 ? '1 attempt' : `${attempt} attempts`;
    return { kind: 'failed', reason: `${reason}; gave up after ${attempts}` };
  }
  const jitter = 1 + (random() * 2 - 1) * JITTER;
  const scheduled = scheduledDelayMs(attempt, policy);
  // A 429, or a 503 (RFC 9110 §10.2.3: how long the service expects to be unavailable), may say
  // when to come back.
  const asked =
    outcome.kind === 'response' && (outcome.status === 429 || outcome.status === 503)
      ? retryAfterMs(outcome.headers, now)
      : undefined;
  let delay: number;
  if (asked !== undefined) {
    // The remote said when: never earlier than that (jitter only adds), within the bounds.
    const bounded = Math.min(Math.max(asked, MIN_RETRY_AFTER_MS), MAX_RETRY_AFTER_MS);
    delay = bounded * (1 + Math.abs(jitter - 1));
  } else if (kind === 'throttled') {
    // The floor holds after the jitter (a throttled remote gets at least its pause), and
    // deliveries held at the floor still spread over +0–20 % of it.
    delay = Math.max(
      scheduled * THROTTLE_FACTOR * jitter,
      MIN_THROTTLE_PAUSE_MS * (1 + Math.abs(jitter - 1)),
    );
  } else {
    delay = scheduled * jitter;
  }
  return { kind: 'retry', at: now + Math.round(delay), reason };
}

type Class = 'success' | 'retry' | 'throttled' | 'final';

function classify(outcome: DeliveryOutcome, policy: RetryPolicy): Class {
  switch (outcome.kind) {
    case 'response': {
      const status = outcome.status;
      const success = policy.successStatuses
        ? policy.successStatuses.includes(status)
        : status >= 200 && status <= 299;
      if (success) return 'success';
      if (status === 429) return 'throttled';
      if (status === 408 || status >= 500) return 'retry';
      return 'final';
    }
    case 'timeout':
      return 'throttled';
    case 'network-error':
      return 'retry';
    case 'soap-fault':
      return outcome.retryable ? 'retry' : 'final';
    case 'not-soap':
    case 'response-too-large':
    case 'refused':
    case 'render-error':
      return 'final';
  }
}

/** The delay after attempt `attempt` before the next, per the schedule, without jitter. */
export function scheduledDelayMs(attempt: number, policy: RetryPolicy): number {
  const schedule = policy.scheduleSeconds;
  const seconds = schedule[Math.min(attempt - 1, schedule.length - 1)] ?? 0;
  return Math.max(0, seconds) * 1000;
}

/**
 * `Retry-After` in milliseconds from `now`: delta seconds (`120`) or an HTTP date (each of its
 * three forms starts with the day's name; one without a zone is GMT). Undefined when absent or
 * unreadable; a date in the past is 0. `Date.parse` alone would read `1.5` or `-5` as dates in 2001: "retry now".
 */
export function retryAfterMs(headers: readonly HeaderPair[], now: number): number | undefined {
  const value = headers.find(([name]) => name.toLowerCase() === 'retry-after')?.[1]?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /.test(value)) return undefined;
  // HTTP dates are GMT. The asctime form names no zone (nor does a sloppy IMF date), and
  // `Date.parse` would read it in the server's own time zone.
  const date = Date.parse(/[a-z]$|[+-]\d{4}$/i.test(value) ? value : `${value} GMT`);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
