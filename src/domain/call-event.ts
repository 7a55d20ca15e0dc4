/**
 * Call events as the dialer reports them (SPEC §4, §8.1). Tokens read these same names, so the
 * event is stored exactly as received.
 */
import { CALL_EVENT_TYPES, type CallEventType } from './campaign.js';

export interface CallEvent {
  id: string;
  type: CallEventType;
  occurredAt: string;
  campaignId: string;
  call: Record<string, unknown> & { id?: string; status?: string };
  contact: Record<string, unknown>;
  /** IVR variables collected so far, for `call.ivr_input` events. */
  ivr?: Record<string, string>;
}

export const MAX_BATCH = 1000;
export const EVENT_BODY_LIMIT = 10 * 1024 * 1024;

export function isCallEventType(value: unknown): value is CallEventType {
  return typeof value === 'string' && (CALL_EVENT_TYPES as readonly string[]).includes(value);
}

/** Milliseconds of an RFC 3339 timestamp, or undefined when it is not one. */
export function parseTimestamp(value: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value))
    return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
