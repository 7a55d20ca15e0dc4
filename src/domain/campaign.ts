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
