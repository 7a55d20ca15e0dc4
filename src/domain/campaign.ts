/** Campaigns mirrored from the dialer, and their integration bindings (SPEC §1). */
export const CAMPAIGN_TYPES = ['voice', 'ivr', 'integration'] as const;
export type CampaignType = (typeof CAMPAIGN_TYPES)[number];

export const CALL_EVENT_TYPES = [
  'call.started',
  'call.ringing',
  'call.answered',
  'call.ended',
  'call.ivr_input',
] as const;
export type CallEventType = (typeof CALL_EVENT_TYPES)[number];

export const CALL_STATUSES = ['answered', 'no_answer', 'busy', 'failed', 'cancelled'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

export interface Campaign {
  id: string;
  ownerId: string;
  name: string;
  type: CampaignType;
  createdAt: string;
  updatedAt: string;
  /** Integration campaigns (SPEC §6): the contacts, the integration sent to each, the rate. */
  contactListId: string | null;
  integrationId: string | null;
  ratePerSecond: number | null;
  state: CampaignState;
  startedAt: string | null;
  finishedAt: string | null;
  /** Why Callhook stopped the run (its integration was deleted); null when a user did. */
  stopReason: string | null;
}

/**
 * The life of an integration campaign (docs/campaigns.md): `idle` until started; `running` hands
 * its contacts to the queue at its rate; `paused` hands none until resumed; `stopped` (by a user,
 * or when its integration is deleted) and `completed` (every contact has a result) are final.
 */
export const CAMPAIGN_STATES = ['idle', 'running', 'paused', 'stopped', 'completed'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

export const CAMPAIGN_ACTIONS = ['start', 'pause', 'resume', 'stop'] as const;
export type CampaignAction = (typeof CAMPAIGN_ACTIONS)[number];

/** What an action does from a state: moves to another, finds it there already, or is refused. */
export type Transition =
  { kind: 'move'; to: CampaignState } | { kind: 'already' } | { kind: 'refused'; why: string };

const TARGET: Record<CampaignAction, CampaignState> = {
  start: 'running',
  pause: 'paused',
  resume: 'running',
  stop: 'stopped',
};

const FROM: Record<CampaignAction, readonly CampaignState[]> = {
  start: ['idle'],
  pause: ['running'],
  resume: ['paused'],
  stop: ['running', 'paused'],
};

/** Why `action` cannot apply in `state` (a state it neither starts from nor leads to). */
const REFUSALS: Record<CampaignAction, Partial<Record<CampaignState, string>>> = {
  start: {
    paused: 'resume it to go on',
    stopped: 'a stopped campaign does not start again; create a new campaign',
    completed: 'every contact has a result; create a new campaign to send again',
  },
  pause: {
    idle: 'it has not started',
    stopped: 'a stopped campaign does not run again',
    completed: 'every contact has a result',
  },
  resume: {
    idle: 'it has not started: start it',
    stopped: 'a stopped campaign does not run again; create a new campaign',
    completed: 'every contact has a result',
  },
  stop: {
    idle: 'it has not started: delete it instead',
    completed: 'every contact has a result',
  },
};

/**
 * The rule of `POST /campaigns/:id/start|pause|resume|stop`: an action asking for the state the
 * campaign is in already changes nothing (so a repeated request is harmless), one its state does
 * not allow is refused with the reason.
 *
 * ### Examples
 * ```ts
 * transition('running', 'pause'); // → { kind: 'move', to: 'paused' }
 * transition('running', 'resume'); // → { kind: 'already' }
 * transition('stopped', 'start'); // → { kind: 'refused', why: 'a stopped campaign does not start again; …' }
 * ```
 */
export function transition(state: CampaignState, action: CampaignAction): Transition {
  if (FROM[action].includes(state)) return { kind: 'move', to: TARGET[action] };
  if (state === TARGET[action]) return { kind: 'already' };
  return { kind: 'refused', why: REFUSALS[action][state] ?? `it is ${state}` };
}

/** Where a run stands, per contact. `total` = `pending` + `succeeded` + `failed` + `cancelled`. */
export interface CampaignProgress {
  total: number;
  /** Not sent yet, or waiting for a retry. */
  pending: number;
  succeeded: number;
  failed: number;
  /** Not sent because the run was stopped (or its delivery was cancelled). */
  cancelled: number;
}

/**
 * The progress of a run from its deliveries' counts: a contact without a delivery yet is pending,
 * or cancelled once the run is stopped (it will never be sent).
 */
export function progressOf(
  total: number,
  state: CampaignState,
  deliveries: { pending: number; succeeded: number; failed: number; cancelled: number },
): CampaignProgress {
  const handed =
    deliveries.pending + deliveries.succeeded + deliveries.failed + deliveries.cancelled;
  const unsent = Math.max(0, total - handed);
  const cancelled = deliveries.cancelled + (state === 'stopped' ? unsent : 0);
  return {
    total,
    pending: total - deliveries.succeeded - deliveries.failed - cancelled,
    succeeded: deliveries.succeeded,
    failed: deliveries.failed,
    cancelled,
  };
}

/** The status a contact of a run shows: its delivery's, or (none yet) pending or cancelled. */
export function contactStatus(
  deliveryStatus: string | null,
  state: CampaignState,
): 'pending' | 'succeeded' | 'failed' | 'cancelled' {
  if (deliveryStatus === null) return state === 'stopped' ? 'cancelled' : 'pending';
  return deliveryStatus as 'pending' | 'succeeded' | 'failed' | 'cancelled';
}

export interface Binding {
  integrationId: string;
  on: CallEventType[];
  /** Only calls with one of these statuses; undefined = any. */
  statuses?: CallStatus[];
}

/** Does `binding` ask for this event? */
export function bindingMatches(binding: Binding, type: string, callStatus: unknown): boolean {
  if (!(binding.on as readonly string[]).includes(type)) return false;
  if (binding.statuses === undefined) return true;
  return (
    typeof callStatus === 'string' && (binding.statuses as readonly string[]).includes(callStatus)
  );
}
