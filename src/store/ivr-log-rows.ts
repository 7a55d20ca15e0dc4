/**
 * An IVR invocation as the log keeps it, and the two rows it is stored as: a `deliveries` row of
 * kind `ivr` and its one `attempts` row. Shared by the in-process writer (PostgreSQL) and the
 * SQLite writer thread (ivr-log-thread.ts), so both store the same values.
 */
import {
  loggedResponse,
  type RecordedRequest,
  type RecordedResponse,
} from '../delivery/recorded.js';

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
  /**
   * The answer is another invocation's (the IVR answer cache, or a request in flight shared):
   * the invocation that asked the remote.
   */
  cachedFrom?: string;
  /**
   * `response` came after this invocation's deadline (it is a `timeout`): the shared request it
   * waited on went on for other callers, and this is what it got.
   */
  afterDeadline?: boolean;
}

/**
 * A reason as stored: PostgreSQL text cannot hold NUL, and a reason may quote a remote's body
 * (`the body is not valid JSON: Unexpected token '\u0000', …`); one such row failed the insert
 * of its whole batch. Written `\u0000` on both backends, as JSON would.
 */
const storable = (text: string): string => text.replaceAll('\u0000', '\\u0000');

export function deliveryRow(record: IvrInvocationRecord) {
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
    last_error: record.reason === null ? null : storable(record.reason),
    last_status: record.status,
    created_at: record.startedAt,
    updated_at: completedAt,
    completed_at: completedAt,
  };
}

export function attemptRow(record: IvrInvocationRecord) {
  // The same shapes the worker logs (src/delivery/worker.ts), plus the IVR's own outcome.
  const response =
    record.response === null
      ? null
      : JSON.stringify({
          ...loggedResponse(record.response),
          ivrOutcome: record.outcome,
          ...(record.cachedFrom === undefined ? {} : { cachedFrom: record.cachedFrom }),
          ...(record.afterDeadline === true ? { afterDeadline: true } : {}),
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
    error: record.reason === null ? null : storable(`${record.outcome}: ${record.reason}`),
  };
}
