/**
 * The rules of one IVR invocation (SPEC §5), apart from the route that applies them: its
 * deadline, what an IVR branches on for a run's outcome, and when it tries a second time.
 * docs/ivr.md ("The deadline", "The answer") is the user's side of this.
 */
import type { Integration } from '../domain/integration.js';
import { DEFAULT_IVR_TIMEOUT_MS } from '../domain/integration.js';
import type { IvrOutcome } from '../store/ivr-log-store.js';
import { describeOutcome, type DeliveryOutcome } from './outcome.js';
import type { RetryPolicy } from './retry-policy.js';
import { deadlineReason } from '../transport/http-client.js';
import { timeoutReason } from '../transport/soap-client.js';

/** The longest deadline an invocation may ask for: a caller on hold for longer hangs up. */
export const MAX_IVR_TIMEOUT_MS = 30_000;
/** A connect failure is tried again only if at least this much of the deadline is left. */
export const MIN_RETRY_BUDGET_MS = 100;
/** Failures to connect at all: nothing reached the remote, so trying again is harmless. */
const CONNECT_FAILURES = /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|EADDRNOTAVAIL)\b/;

/**
 * The deadline of one invocation: the request's `timeoutMs` when given, else the integration's
 * `timeoutMs` capped at 3 s (its own default, 10 s, suits deliveries, not a caller on hold).
 */
export function invokeDeadline(integration: Integration, requested: number | undefined): number {
  return requested ?? Math.min(integration.options.timeoutMs, DEFAULT_IVR_TIMEOUT_MS);
}

/**
 * The reason of a `timeout` the invocation's deadline gave while it waited for a request that was
 * not its own (shared with identical invocations), in its transport's words, as its own request
 * would have said it: `no response within the 2500 ms deadline`, SOAP `no answer within the 2500
 * ms timeout`.
 */
export function deadlineReasonOf(type: Integration['type'], deadlineMs: number): string {
  return type === 'soap' ? timeoutReason(deadlineMs) : deadlineReason(deadlineMs);
}

/** What an IVR branches on, from one run's outcome; `reason` is null on success. */
export function ivrOutcomeOf(
  outcome: DeliveryOutcome,
  policy: RetryPolicy,
): { outcome: IvrOutcome; reason: string | null } {
  switch (outcome.kind) {
    case 'response': {
      const statuses = policy.successStatuses;
      const success = statuses
        ? statuses.includes(outcome.status)
        : outcome.status >= 200 && outcome.status <= 299;
      return success
        ? { outcome: 'success', reason: null }
        : { outcome: 'failure', reason: `HTTP ${outcome.status} is not a success status` };
    }
    case 'soap-fault':
    case 'not-soap':
    case 'response-too-large':
      return { outcome: 'failure', reason: describeOutcome(outcome) };
    case 'timeout':
      return { outcome: 'timeout', reason: outcome.message };
    case 'network-error':
    case 'refused':
    case 'render-error':
      return { outcome: 'error', reason: describeOutcome(outcome) };
  }
}

/**
 * Whether an invocation tries once more: only after a failure to connect at all (nothing reached
 * the remote) and only with at least MIN_RETRY_BUDGET_MS of the deadline left.
 */
export function retriesAfter(outcome: DeliveryOutcome, leftMs: number): boolean {
  if (outcome.kind !== 'network-error' || leftMs < MIN_RETRY_BUDGET_MS) return false;
  // HTTP reports the errno as the code; SOAP reports `NETWORK_ERROR` with `ECONNREFUSED: …`.
  return CONNECT_FAILURES.test(outcome.code) || CONNECT_FAILURES.test(outcome.message);
}
