/**
 * The pure rules of an invocation: which outcome an IVR branches on for each kind of result, the
 * deadline an invocation gets, and that only a failure to connect, with time left, is tried again.
 */
import { describe, expect, it } from 'vitest';
import {
  deadlineReasonOf,
  invokeDeadline,
  ivrOutcomeOf,
  retriesAfter,
} from '../../src/delivery/ivr-outcome.js';
import { retryPolicyOf } from '../../src/delivery/retry-policy.js';
import type { Integration } from '../../src/domain/integration.js';

const policy = retryPolicyOf({});

describe('IVR outcome rules', () => {
  it('maps each kind of result to the outcome an IVR branches on', () => {
    const response = (status: number) =>
      ({ kind: 'response', status, headers: [], durationMs: 5 }) as const;
    expect(ivrOutcomeOf(response(200), policy)).toEqual({ outcome: 'success', reason: null });
    expect(ivrOutcomeOf(response(204), policy).outcome).toBe('success');
    expect(ivrOutcomeOf(response(404), policy)).toEqual({
      outcome: 'failure',
      reason: 'HTTP 404 is not a success status',
    });
    expect(ivrOutcomeOf(response(503), policy).outcome).toBe('failure');
    expect(
      ivrOutcomeOf(response(409), retryPolicyOf({ successStatuses: [200, 409] })).outcome,
    ).toBe('success');
    expect(ivrOutcomeOf(response(201), retryPolicyOf({ successStatuses: [200] })).outcome).toBe(
      'failure',
    );
    expect(
      ivrOutcomeOf(
        {
          kind: 'soap-fault',
          retryable: false,
          code: 'soap:Client',
          message: 'bad account',
          durationMs: 3,
        },
        policy,
      ),
    ).toEqual({ outcome: 'failure', reason: 'SOAP fault soap:Client: bad account' });
    expect(
      ivrOutcomeOf(
        { kind: 'timeout', message: 'no response within the 300 ms deadline', durationMs: 300 },
        policy,
      ),
    ).toEqual({ outcome: 'timeout', reason: 'no response within the 300 ms deadline' });
    expect(ivrOutcomeOf({ kind: 'refused', reason: '10.0.0.1 is private' }, policy)).toEqual({
      outcome: 'error',
      reason: 'refused by the network policy: 10.0.0.1 is private',
    });
    expect(
      ivrOutcomeOf({ kind: 'render-error', reason: 'config.url: not absolute' }, policy).outcome,
    ).toBe('error');
    expect(
      ivrOutcomeOf(
        { kind: 'network-error', code: 'ECONNRESET', message: 'socket hang up', durationMs: 2 },
        policy,
      ).outcome,
    ).toBe('error');
  });

  it("gives the request's timeoutMs, else the integration's capped at 3 s", () => {
    const withTimeout = (timeoutMs: number) => ({ options: { timeoutMs } }) as Integration;
    expect(invokeDeadline(withTimeout(10_000), undefined)).toBe(3_000);
    expect(invokeDeadline(withTimeout(1_500), undefined)).toBe(1_500);
    expect(invokeDeadline(withTimeout(10_000), 5_000)).toBe(5_000);
    expect(invokeDeadline(withTimeout(1_500), 200)).toBe(200);
  });

  it('tries again only after a connect failure, with at least 100 ms left', () => {
    const network = (code: string, message = '') =>
      ({ kind: 'network-error', code, message, durationMs: 1 }) as const;
    expect(retriesAfter(network('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'), 2_000)).toBe(
      true,
    );
    expect(retriesAfter(network('EHOSTUNREACH'), 2_000)).toBe(true);
    expect(retriesAfter(network('EAI_AGAIN'), 2_000)).toBe(true);
    // SOAP reports the errno at the start of the message.
    expect(
      retriesAfter(network('NETWORK_ERROR', 'ECONNREFUSED: connect ECONNREFUSED'), 2_000),
    ).toBe(true);
    expect(retriesAfter(network('ECONNREFUSED'), 99)).toBe(false);
    // The request may have reached the remote: never sent twice.
    expect(retriesAfter(network('ECONNRESET', 'socket hang up'), 2_000)).toBe(false);
    expect(retriesAfter(network('UND_ERR_SOCKET', 'other side closed'), 2_000)).toBe(false);
    expect(
      retriesAfter({ kind: 'timeout', message: 'connect timeout', durationMs: 1 }, 2_000),
    ).toBe(false);
    expect(retriesAfter({ kind: 'refused', reason: 'private' }, 2_000)).toBe(false);
  });

  it("words a deadline passed while waiting as the integration's transport words its own", () => {
    expect(deadlineReasonOf('http', 2_500)).toBe('no response within the 2500 ms deadline');
    expect(deadlineReasonOf('soap', 2_500)).toBe('no answer within the 2500 ms timeout');
  });
});
