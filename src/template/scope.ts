/**
 * What a template reads at render time: one plain object per token group. Paths are followed
 * through own properties only, so `{{contact.custom.constructor}}` reads nothing.
 */
import type { CallEvent } from '../domain/call-event.js';
import type { TokenGroup } from '../domain/tokens.js';

export interface SystemValues {
  /** RFC 3339, UTC, with milliseconds. */
  now: string;
  /** Seconds since the epoch. */
  timestamp: number;
}

export type RenderScope = {
  [group in Exclude<TokenGroup, 'system'>]?: Readonly<Record<string, unknown>>;
} & {
  /** Computed at render time when absent; pass it to render several templates at one instant. */
  system?: SystemValues;
};

export function systemValues(ms: number): SystemValues {
  return { now: new Date(ms).toISOString(), timestamp: Math.floor(ms / 1000) };
}

/**
 * `call.campaignId` is a call token, but a dialer names the campaign once per event, beside the
 * call (`{"campaignId": …, "call": {…}}`, SPEC §8.1). A call without a `campaignId` of its own
 * (absent or null) reads that one; one with its own keeps it, `""` included.
 */
export function callWithCampaign(
  call: Readonly<Record<string, unknown>>,
  campaignId: unknown,
): Readonly<Record<string, unknown>> {
  const own = Object.hasOwn(call, 'campaignId') ? call['campaignId'] : undefined;
  if (own !== undefined && own !== null) return call;
  if (campaignId === undefined || campaignId === null) return call;
  return { ...call, campaignId };
}

/**
 * The scope of a delivery: the event's own `call` (with the event's `campaignId`, see
 * callWithCampaign) and `contact`, the campaign and integration rows, and the IVR variables of an
 * invocation.
 *
 * ### Example
 * ```ts
 * compiled.render(eventScope({ event, campaign, integration, now: Date.now() }));
 * ```
 */
export function eventScope(input: {
  event: Pick<CallEvent, 'id' | 'type' | 'occurredAt' | 'campaignId' | 'call' | 'contact'> & {
    ivr?: Record<string, string>;
  };
  campaign?: { id: string; name: string; type: string };
  integration?: { id: string; name: string };
  /** IVR variables; defaults to the event's own `ivr`. */
  ivr?: Readonly<Record<string, unknown>>;
  now?: number;
}): RenderScope {
  const { event } = input;
  const scope: RenderScope = {
    call: callWithCampaign(event.call, event.campaignId),
    contact: event.contact,
    event: { id: event.id, type: event.type, occurredAt: event.occurredAt },
    system: systemValues(input.now ?? Date.now()),
  };
  if (input.campaign !== undefined) {
    scope.campaign = {
      id: input.campaign.id,
      name: input.campaign.name,
      type: input.campaign.type,
    };
  }
  if (input.integration !== undefined) {
    scope.integration = { id: input.integration.id, name: input.integration.name };
  }
  const ivr = input.ivr ?? event.ivr;
  if (ivr !== undefined) scope.ivr = ivr;
  return scope;
}

/**
 * The scope of a delivery of an integration campaign: the contact (as its list holds it), the
 * campaign and integration rows. No call or event: the campaign calls no one.
 *
 * ### Example
 * ```ts
 * compiled.render(campaignContactScope({ contact, campaign, integration, now: Date.now() }));
 * ```
 */
export function campaignContactScope(input: {
  contact: Readonly<Record<string, unknown>>;
  campaign: { id: string; name: string; type: string };
  integration: { id: string; name: string };
  now?: number;
}): RenderScope {
  return {
    contact: input.contact,
    campaign: { id: input.campaign.id, name: input.campaign.name, type: input.campaign.type },
    integration: { id: input.integration.id, name: input.integration.name },
    system: systemValues(input.now ?? Date.now()),
  };
}

export type Getter = (scope: RenderScope) => unknown;

const own = (value: unknown, key: string): unknown =>
  value !== null && typeof value === 'object' && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;

/** A reader for one token path, specialised for the usual two and three segments. */
export function pathGetter(path: readonly string[]): Getter {
  const [group = '', a, b] = path;
  const root = (scope: RenderScope): unknown => own(scope, group);
  if (path.length === 1) return root;
  if (path.length === 2) return (scope) => own(root(scope), a as string);
  if (path.length === 3) return (scope) => own(own(root(scope), a as string), b as string);
  const rest = path.slice(1);
  return (scope) => {
    let value = root(scope);
    for (const key of rest) value = own(value, key);
    return value;
  };
}
