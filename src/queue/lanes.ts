/**
 * The rules of a lane (one integration's share of the queue), pure: how many deliveries a claim
 * may take from it under its concurrency limit, token bucket and circuit, and how its state moves
 * after a claim or a failure. The SQL that reads and writes lanes is in src/store/lane-store.ts.
 */
import { FRESH_LANE, type InFlight, type LanePatch, type LaneRow } from '../store/lane-store.js';

export interface CircuitOptions {
  /** Consecutive failed attempts (retryable failures) that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit waits before a single probe goes out. */
  cooldownMs: number;
}

export interface AutoDisableOptions {
  /** Both must hold: at least this many consecutive failures… */
  afterFailures: number;
  /** …over at least this long without any success. */
  afterMs: number;
}

export interface LaneSettings {
  /** Concurrency of an integration without `maxConcurrency`, so one endpoint cannot take every slot. */
  defaultMaxConcurrency: number;
  /** Minimum lease; an integration's lease is at least its `timeoutMs` + `leaseMarginMs`. */
  leaseMs: number;
  /** Time past an attempt's deadline before its lease may be taken over (default 15 s). */
  leaseMarginMs: number;
  circuit: CircuitOptions;
  autoDisable: AutoDisableOptions | false;
}

export const DEFAULT_LANE_SETTINGS: LaneSettings = {
  defaultMaxConcurrency: 16,
  leaseMs: 60_000,
  leaseMarginMs: 15_000,
  circuit: { failureThreshold: 5, cooldownMs: 30_000 },
  autoDisable: { afterFailures: 50, afterMs: 24 * 60 * 60 * 1000 },
};

const DEFAULT_TIMEOUT_MS = 10_000;

export interface LaneLimits {
  maxConcurrency: number;
  ratePerSecond: number | null;
  leaseMs: number;
}

/** The limits in an integration's options JSON (`maxConcurrency`, `ratePerSecond`, `timeoutMs`). */
export function limitsOf(optionsJson: string, settings: LaneSettings): LaneLimits {
  let options: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(optionsJson);
    if (typeof parsed === 'object' && parsed !== null) options = parsed as Record<string, unknown>;
  } catch {
    // Options are validated when saved; unreadable ones fall back to the defaults.
  }
  const positive = (value: unknown): number | undefined =>
    typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
  const timeoutMs = positive(options['timeoutMs']) ?? DEFAULT_TIMEOUT_MS;
  return {
    maxConcurrency: Math.floor(
      positive(options['maxConcurrency']) ?? settings.defaultMaxConcurrency,
    ),
    ratePerSecond: positive(options['ratePerSecond']) ?? null,
    leaseMs: Math.max(settings.leaseMs, timeoutMs + settings.leaseMarginMs),
  };
}

/**
 * The lane fields that follow from new limits, saved at `savedAt`. A bucket starts full only when
 * the lane had no rate: otherwise it keeps its tokens, refilled at the old rate up to the edit and
 * capped at the new size, so an edit (of the rate or of anything else) never hands out a fresh
 * second's worth on top of what was just sent.
 */
export function applyLimits(
  lane: Pick<LaneRow, 'rate_per_second' | 'tokens' | 'refilled_at'>,
  limits: LaneLimits,
  version: number,
  savedAt: number,
  now: number,
): LanePatch {
  const rate = limits.ratePerSecond;
  const size = bucketSize(rate);
  let tokens = size;
  let refilledAt = now;
  if (rate !== null && lane.rate_per_second !== null) {
    // From the edit on, the next claim refills at the new rate.
    refilledAt = Math.max(lane.refilled_at, Math.min(savedAt, now));
    tokens = Math.min(
      size,
      refill(lane.tokens, lane.rate_per_second, refilledAt - lane.refilled_at),
    );
  }
  return {
    limits_version: version,
    max_concurrency: limits.maxConcurrency,
    rate_per_second: rate,
    lease_ms: limits.leaseMs,
    tokens,
    refilled_at: refilledAt,
  };
}

/** A bucket of `rate` holding `tokens`, after `elapsedMs` of refilling. */
function refill(tokens: number, rate: number, elapsedMs: number): number {
  return Math.min(bucketSize(rate), tokens + (Math.max(0, elapsedMs) * rate) / 1000);
}

function bucketSize(rate: number | null): number {
  // One second's worth, at least one token: a burst never exceeds the per-second rate.
  return rate === null ? 0 : Math.max(1, rate);
}

export interface LanePlan {
  integrationId: string;
  /** Deliveries this claim may take from the lane. */
  take: number;
  /** The circuit is open and its cool-down over: this claim takes the single probe. */
  probe: boolean;
  leaseUntil: number;
  /** Tokens after refilling, before taking. */
  tokens: number;
}

/** How many deliveries to take from `lane`, given `leased` in flight and `want` asked for. */
export function planLane(lane: LaneRow, leased: number, want: number, now: number): LanePlan {
  const rate = lane.rate_per_second;
  const tokens =
    rate === null ? Number.POSITIVE_INFINITY : refill(lane.tokens, rate, now - lane.refilled_at);
  let take = Math.min(want, Math.max(0, lane.max_concurrency - leased), Math.floor(tokens));
  let probe = false;
  if (lane.circuit !== 'closed') {
    // One probe, and only when nothing of the lane is out: a delivery still in flight (an earlier
    // probe, or one claimed before the circuit opened) may yet answer, and its failure would
    // re-open the circuit while this one is out.
    probe = lane.circuit_until <= now && take > 0 && leased === 0;
    take = probe ? 1 : 0;
  }
  return {
    integrationId: lane.integration_id,
    take,
    probe,
    leaseUntil: now + lane.lease_ms,
    tokens,
  };
}

/**
 * The lane after a claim took `took` of the `plan.take` it could, with `out` in flight before it:
 * tokens spent, the next hold
 * (probe in flight > open circuit > probe waiting for deliveries out > concurrency full > bucket
 * empty), and when it is due again:
 * `earliest` is the lane's earliest pending due time, read only when the claim ran out of due rows.
 */
export function laneAfterClaim(
  lane: LaneRow,
  plan: LanePlan,
  took: number,
  out: InFlight,
  earliest: number | undefined,
  now: number,
): LanePatch {
  const leased = out.count;
  const patch: LanePatch = { served_at: now, updated_at: now, hold_until: 0, hold_reason: null };
  if (earliest !== undefined) patch.next_due_at = earliest;
  const rate = lane.rate_per_second;
  let tokens = plan.tokens;
  if (rate !== null) {
    tokens -= took;
    patch.tokens = tokens;
    patch.refilled_at = now;
  }
  if (plan.probe && took > 0) {
    patch.circuit = 'half-open';
    patch.circuit_until = plan.leaseUntil;
    patch.hold_until = plan.leaseUntil;
    patch.hold_reason = 'probe';
  } else if (lane.circuit !== 'closed' && lane.circuit_until > now) {
    patch.hold_until = lane.circuit_until;
    patch.hold_reason = 'circuit';
  } else if (lane.circuit !== 'closed' && leased > 0) {
    // Cool-down over, but deliveries are out: the probe waits for them (a completion lifts this
    // hold; the end of their last lease bounds it if their worker died).
    patch.hold_until = out.until;
    patch.hold_reason = 'probe';
  } else if (leased + took >= lane.max_concurrency) {
    // Lifted by the next completion; the lease end bounds it if the worker died.
    patch.hold_until = plan.leaseUntil;
    patch.hold_reason = 'concurrency';
  } else if (rate !== null && tokens < 1) {
    patch.hold_until = now + Math.ceil(((1 - tokens) * 1000) / rate);
    patch.hold_reason = 'rate';
  }
  return patch;
}

/**
 * The lane after an attempt failed in a way that says the remote is down (timeout, network
 * error, 408/429/5xx, SOAP Server fault): the streak grows, the circuit may open (or re-open after
 * a failed probe), the integration may be disabled.
 */
export function laneAfterFailure(
  lane: LaneRow,
  now: number,
  settings: LaneSettings,
): { patch: LanePatch; disable?: string } {
  const failures = lane.consecutive_failures + 1;
  const since = lane.failing_since ?? now;
  const patch: LanePatch = {
    consecutive_failures: failures,
    failing_since: since,
    updated_at: now,
  };
  const auto = settings.autoDisable;
  if (auto !== false && failures >= auto.afterFailures && now - since >= auto.afterMs) {
    const reason = `disabled after ${failures} consecutive failed attempts since ${new Date(since).toISOString()}`;
    // A fresh start when the owner enables it again.
    return {
      patch: { ...patch, ...FRESH_LANE },
      disable: reason,
    };
  }
  const opens =
    lane.circuit === 'half-open' ||
    (lane.circuit === 'closed' && failures >= settings.circuit.failureThreshold);
  if (opens) {
    patch.circuit = 'open';
    patch.circuit_until = now + settings.circuit.cooldownMs;
    patch.hold_until = patch.circuit_until;
    patch.hold_reason = 'circuit';
  } else if (
    lane.hold_reason === 'concurrency' ||
    // An open circuit's probe waited for this delivery: the next claim sees what is still out.
    (lane.hold_reason === 'probe' && lane.circuit === 'open')
  ) {
    patch.hold_until = 0;
    patch.hold_reason = null;
  }
  return { patch };
}
