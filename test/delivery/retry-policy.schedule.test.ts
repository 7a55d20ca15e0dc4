import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  MAX_RETRY_AFTER_MS,
  MIN_RETRY_AFTER_MS,
  decide,
  retryAfterMs,
  retryPolicyOf,
  type RetryPolicy,
} from '../../src/delivery/retry-policy.js';
import type { DeliveryOutcome } from '../../src/delivery/outcome.js';

const NOW = Date.parse('2026-11-27T10:00:00Z');
const MID = () => 0.5; // no jitter
const LOW = () => 0; // −20 %
const HIGH = () => 0.999999; // ≈ +20 %

const status = (code: number, headers: [string, string][] = []): DeliveryOutcome => ({
  kind: 'response',
  status: code,
  headers,
  durationMs: 5,
});
const delayOf = (
  attempt: number,
  outcome: DeliveryOutcome,
  random = MID,
  policy = DEFAULT_RETRY_POLICY,
) => {
  const d = decide(attempt, outcome, NOW, random, policy);
  if (d.kind !== 'retry') throw new Error(`expected retry, got ${JSON.stringify(d)}`);
  return d.at - NOW;
};

describe('retry policy', () => {
  it('follows the default schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then gives up', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => delayOf(n, status(503)));
    expect(delays).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000].map((s) => s * 1000));
    expect(decide(8, status(503), NOW, MID, DEFAULT_RETRY_POLICY)).toEqual({
      kind: 'failed',
      reason: 'HTTP 503; gave up after 8 attempts',
    });
    expect(decide(1, status(503), NOW, MID, retryPolicyOf({ retry: { maxAttempts: 1 } }))).toEqual({
      kind: 'failed',
      reason: 'HTTP 503; gave up after 1 attempt',
    });
  });

  it('jitters each delay within ±20 %', () => {
    expect(delayOf(2, status(500), LOW)).toBe(240_000);
    expect(delayOf(2, status(500), HIGH)).toBeCloseTo(360_000, -2);
  });

  it("succeeds on 2xx by default, or on the integration's successStatuses", () => {
    expect(decide(1, status(204), NOW, MID, DEFAULT_RETRY_POLICY).kind).toBe('succeeded');
    const policy = retryPolicyOf({ successStatuses: [200, 409] });
    expect(decide(1, status(409), NOW, MID, policy).kind).toBe('succeeded');
    expect(decide(1, status(201), NOW, MID, policy)).toEqual({
      kind: 'failed',
      reason: 'HTTP 201 is not retried',
    });
  });

  it('fails other 4xx at once, retries 408 and 5xx on the schedule', () => {
    for (const code of [400, 401, 403, 404, 410, 422]) {
      expect(decide(1, status(code), NOW, MID, DEFAULT_RETRY_POLICY).kind).toBe('failed');
    }
    expect(delayOf(1, status(408))).toBe(5_000);
    expect(delayOf(1, status(502))).toBe(5_000);
  });

  it('honours Retry-After in seconds or as an HTTP date, clamped to an hour', () => {
    expect(delayOf(1, status(429, [['retry-after', '120']]))).toBe(120_000);
    const date = new Date(NOW + 90_000).toUTCString();
    expect(delayOf(1, status(429, [['Retry-After', date]]))).toBe(90_000);
    expect(delayOf(1, status(429, [['retry-after', '86400']]))).toBe(MAX_RETRY_AFTER_MS);
    // Jitter never brings a retry before the time the remote asked for.
    expect(delayOf(1, status(429, [['retry-after', '120']]), LOW)).toBeGreaterThanOrEqual(120_000);
    expect(retryAfterMs([['retry-after', 'soon']], NOW)).toBeUndefined();
    expect(retryAfterMs([['retry-after', new Date(NOW - 5_000).toUTCString()]], NOW)).toBe(0);
    // Neither delta seconds nor a date: unreadable (a 429 then pauses as without the header), not
    // a date in 2001 that would mean "retry now".
    for (const value of ['1.5', '-5', '120.5', '2026-11-27']) {
      expect(retryAfterMs([['retry-after', value]], NOW), value).toBeUndefined();
    }
    // The obsolete HTTP date forms are still dates.
    expect(retryAfterMs([['retry-after', 'Sunday, 06-Nov-94 08:49:37 GMT']], NOW)).toBe(0);
    expect(retryAfterMs([['retry-after', 'Sun Nov  6 08:49:37 1994']], NOW)).toBe(0);
  });

  it('honours Retry-After on a 503 too, and never sooner than a second', () => {
    expect(delayOf(1, status(503, [['retry-after', '120']]))).toBe(120_000);
    expect(delayOf(1, status(503))).toBe(5_000);
    // Only 429 and 503 say when (RFC 9110): a 502's header is not read.
    expect(delayOf(1, status(502, [['retry-after', '120']]))).toBe(5_000);
    // "Now", or a date gone by, on every answer would spend the budget within a second.
    expect(delayOf(1, status(429, [['retry-after', '0']]))).toBe(MIN_RETRY_AFTER_MS);
    const past = new Date(NOW - 5_000).toUTCString();
    expect(delayOf(1, status(503, [['retry-after', past]]))).toBe(MIN_RETRY_AFTER_MS);
  });

  it('reads an HTTP date as GMT whatever the time zone of the server', () => {
    const zone = process.env['TZ'];
    process.env['TZ'] = 'America/New_York';
    try {
      // 90 s after NOW (2026-11-27T10:00:00Z) in each of the three forms; asctime has no zone,
      // and HTTP dates are GMT (RFC 9110 §5.6.7).
      for (const value of [
        'Fri, 27 Nov 2026 10:01:30 GMT',
        'Friday, 27-Nov-26 10:01:30 GMT',
        'Fri Nov 27 10:01:30 2026',
        'Fri, 27 Nov 2026 10:01:30',
      ]) {
        expect(retryAfterMs([['retry-after', value]], NOW), value).toBe(90_000);
      }
    } finally {
      if (zone === undefined) delete process.env['TZ'];
      else process.env['TZ'] = zone;
    }
  });

  it('pauses longer after a 429 without Retry-After or a timeout', () => {
    expect(delayOf(1, status(429))).toBe(30_000);
    expect(delayOf(3, status(429))).toBe(3_600_000);
    expect(delayOf(1, { kind: 'timeout', message: 'deadline', durationMs: 5000 })).toBe(30_000);
  });

  it('keeps the 30 s pause after a 429 or a timeout whatever the jitter draws, spread above it', () => {
    const timeout: DeliveryOutcome = { kind: 'timeout', message: 'deadline', durationMs: 5000 };
    for (const random of [LOW, () => 0.25, MID, () => 0.75, HIGH]) {
      for (const outcome of [status(429), timeout]) {
        const delay = delayOf(1, outcome, random);
        expect(delay).toBeGreaterThanOrEqual(30_000);
        expect(delay).toBeLessThanOrEqual(36_000);
      }
    }
    // Held at the floor, retries still spread instead of all landing at the same instant.
    expect(delayOf(1, status(429), LOW)).toBe(36_000);
    expect(delayOf(1, status(429), () => 0.75)).toBe(33_000);
    // Above the floor the jitter still spreads: 2 × 30 min, −20 %.
    expect(delayOf(3, status(429), LOW)).toBe(2_880_000);
  });

  it('retries network errors and SOAP Server faults; not Client faults, refusals or render errors', () => {
    expect(
      delayOf(1, { kind: 'network-error', code: 'ECONNREFUSED', message: 'x', durationMs: 1 }),
    ).toBe(5_000);
    const fault = (retryable: boolean): DeliveryOutcome => ({
      kind: 'soap-fault',
      retryable,
      code: retryable ? 'soap:Server' : 'soap:Client',
      message: 'boom',
      durationMs: 1,
    });
    expect(delayOf(1, fault(true))).toBe(5_000);
    expect(decide(1, fault(false), NOW, MID, DEFAULT_RETRY_POLICY).kind).toBe('failed');
    expect(
      decide(1, { kind: 'refused', reason: '10.0.0.1 is private' }, NOW, MID, DEFAULT_RETRY_POLICY),
    ).toEqual({
      kind: 'failed',
      reason: 'refused by the network policy: 10.0.0.1 is private (not retried)',
    });
    expect(
      decide(1, { kind: 'render-error', reason: 'bad URL' }, NOW, MID, DEFAULT_RETRY_POLICY),
    ).toEqual({ kind: 'failed', reason: 'request not sent: bad URL (not retried)' });
  });

  it("takes the integration's maxAttempts and schedule, repeating the last entry", () => {
    const policy: RetryPolicy = retryPolicyOf({
      retry: { maxAttempts: 4, scheduleSeconds: [1, 2] },
    });
    expect([1, 2, 3].map((n) => delayOf(n, status(500), MID, policy))).toEqual([1000, 2000, 2000]);
    expect(decide(4, status(500), NOW, MID, policy).kind).toBe('failed');
  });
});
