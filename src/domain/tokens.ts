/**
 * The token catalog (SPEC §3): every name a template may read, with its type, a description and
 * an example. Pure data; `GET /api/v1/tokens` serves it and src/template/ checks templates against
 * it. A token is a path into the event exactly as the API receives it (SPEC §8.1): `call.*` and
 * `contact.*` are the event's own objects, so there is no second naming to keep in step.
 */

export const TOKEN_GROUPS = [
  'call',
  'contact',
  'campaign',
  'event',
  'integration',
  'system',
  'ivr',
] as const;
export type TokenGroup = (typeof TOKEN_GROUPS)[number];

/**
 * What a token's value looks like. `datetime` is an RFC 3339 string, `phone` a dialable number as
 * the dialer sent it, `object` a JSON object (use it with `| json`).
 */
export type TokenType = 'string' | 'integer' | 'datetime' | 'phone' | 'url' | 'object';

export interface TokenSpec {
  /** The path as written in a template; `<name>` stands for any name (see `wildcard`). */
  token: string;
  group: TokenGroup;
  type: TokenType;
  description: string;
  example: string | number | Record<string, string>;
  /** The values the dialer sends, when the set is closed. */
  values?: readonly string[];
  /** `contact.custom.<name>` and `ivr.<name>` accept any name in place of `<name>`. */
  wildcard?: true;
}

export interface TokenGroupSpec {
  name: TokenGroup;
  description: string;
}

export const TOKEN_GROUP_SPECS: readonly TokenGroupSpec[] = [
  { name: 'call', description: 'The call the event is about (the event’s `call` object).' },
  { name: 'contact', description: 'The contact called (the event’s `contact` object).' },
  { name: 'campaign', description: 'The campaign the call belongs to.' },
  { name: 'event', description: 'The call event itself.' },
  { name: 'integration', description: 'The integration being run.' },
  { name: 'system', description: 'Values computed by Callhook when the request is rendered.' },
  {
    name: 'ivr',
    description:
      'Variables an IVR collected so far; only in IVR invocations (`POST …/invoke` `variables`).',
  },
];

const call = (
  field: string,
  type: TokenType,
  description: string,
  example: string | number,
  values?: readonly string[],
): TokenSpec => ({
  token: `call.${field}`,
  group: 'call',
  type,
  description,
  example,
  ...(values === undefined ? {} : { values }),
});

const contact = (
  field: string,
  type: TokenType,
  description: string,
  example: string,
): TokenSpec => ({ token: `contact.${field}`, group: 'contact', type, description, example });

export const TOKENS: readonly TokenSpec[] = [
  call('id', 'string', 'The dialer’s call id.', 'c-9'),
  call(
    'campaignId',
    'string',
    "The campaign that placed the call: the call's own campaignId, else the event's (an IVR invocation's: campaign.id).",
    'spring-2026',
  ),
  call('phone', 'phone', 'The number dialed.', '+15551234567'),
  call('callerId', 'phone', 'The caller id presented.', '+15557654321'),
  call('direction', 'string', 'Which way the call went.', 'outbound', ['outbound', 'inbound']),
  call('status', 'string', 'How the call ended.', 'answered', [
    'answered',
    'no_answer',
    'busy',
    'failed',
    'cancelled',
  ]),
  call('hangupCause', 'string', 'The telephony hang-up cause.', 'NORMAL_CLEARING'),
  call('amd', 'string', 'Answering-machine detection result.', 'human', [
    'human',
    'machine',
    'unknown',
  ]),
  call('startedAt', 'datetime', 'When dialing started.', '2026-11-27T09:59:10Z'),
  call('answeredAt', 'datetime', 'When the call was answered.', '2026-11-27T09:59:18Z'),
  call('endedAt', 'datetime', 'When the call ended.', '2026-11-27T10:00:00Z'),
  call('duration', 'integer', 'Seconds from dialing to hang-up.', 50),
  call('billsec', 'integer', 'Seconds from answer to hang-up (billed time).', 42),
  call('attempt', 'integer', 'Which attempt at this contact this call was (1 = first).', 1),
  call('dtmf', 'string', 'Keys the callee pressed, in order.', '1#'),
  call('ivrInput', 'string', 'The last input the IVR collected.', '4242'),
  call(
    'recordingUrl',
    'url',
    'Where the call recording can be fetched.',
    'https://rec.example/c-9',
  ),
  call('disposition', 'string', 'The disposition the agent or IVR set.', 'interested'),
  contact('id', 'string', 'The contact’s id.', 'k-3'),
  contact('phone', 'phone', 'The contact’s phone number.', '+15551234567'),
  contact('firstName', 'string', 'First name.', 'Ana'),
  contact('lastName', 'string', 'Last name.', 'Silva'),
  contact('email', 'string', 'Email address.', 'ana@example.com'),
  contact('address', 'string', 'Postal address.', '1 Main St, Springfield'),
  contact('description', 'string', 'Free notes about the contact.', 'Prefers mornings'),
  {
    token: 'contact.custom',
    group: 'contact',
    type: 'object',
    description: 'All custom fields as an object; use `| json` to send them whole.',
    example: { plan: 'gold' },
  },
  {
    token: 'contact.custom.<name>',
    group: 'contact',
    type: 'string',
    description:
      'Any custom field of the contact, e.g. `contact.custom.plan`; names with other characters than letters, digits, `_` and `-` are written `contact.custom["Plan type"]`.',
    example: 'gold',
    wildcard: true,
  },
  {
    token: 'campaign.id',
    group: 'campaign',
    type: 'string',
    description: 'Id.',
    example: 'spring-2026',
  },
  {
    token: 'campaign.name',
    group: 'campaign',
    type: 'string',
    description: 'Name.',
    example: 'Spring',
  },
  {
    token: 'campaign.type',
    group: 'campaign',
    type: 'string',
    description: 'Kind of campaign.',
    example: 'voice',
    values: ['voice', 'ivr', 'integration'],
  },
  {
    token: 'event.id',
    group: 'event',
    type: 'string',
    description: 'The dialer’s event id.',
    example: 'ev-1',
  },
  {
    token: 'event.type',
    group: 'event',
    type: 'string',
    description: 'What happened.',
    example: 'call.ended',
    values: ['call.started', 'call.ringing', 'call.answered', 'call.ended', 'call.ivr_input'],
  },
  {
    token: 'event.occurredAt',
    group: 'event',
    type: 'datetime',
    description: 'When it happened, as the dialer reported it.',
    example: '2026-11-27T10:00:00Z',
  },
  {
    token: 'integration.id',
    group: 'integration',
    type: 'string',
    description: 'The integration’s id.',
    example: '01J9Z6Q3K8',
  },
  {
    token: 'integration.name',
    group: 'integration',
    type: 'string',
    description: 'The integration’s name.',
    example: 'CRM push',
  },
  {
    token: 'system.now',
    group: 'system',
    type: 'datetime',
    description: 'The time of rendering (each attempt renders anew), UTC.',
    example: '2026-11-27T10:00:01.250Z',
  },
  {
    token: 'system.timestamp',
    group: 'system',
    type: 'integer',
    description: 'The time of rendering in seconds since 1970-01-01 UTC.',
    example: 1795773601,
  },
  {
    token: 'ivr.<name>',
    group: 'ivr',
    type: 'string',
    description:
      'A variable the IVR collected, e.g. `ivr.account`: from an IVR invocation, or the `ivr` object of the event a delivery renders (a `call.ivr_input` event carries one); empty otherwise.',
    example: '4242',
    wildcard: true,
  },
];

/** The wildcard entry covering `prefix.<name>` paths, by the prefix's dotted path. */
const WILDCARDS = new Map(
  TOKENS.filter((t) => t.wildcard).map((t) => [t.token.slice(0, -'.<name>'.length), t]),
);
const EXACT = new Map(TOKENS.filter((t) => !t.wildcard).map((t) => [t.token, t]));

/**
 * The catalog entry a path names, or undefined when the path is not a token. `['contact',
 * 'custom', 'Plan type']` finds `contact.custom.<name>`.
 */
export function findToken(path: readonly string[]): TokenSpec | undefined {
  const prefix = path.slice(0, -1);
  // A bracketed name may hold dots; only the last segment (a wildcard's name) is free.
  if (prefix.some((segment) => segment.includes('.'))) return undefined;
  const last = path[path.length - 1] ?? '';
  if (!last.includes('.')) {
    const exact = EXACT.get(path.join('.'));
    if (exact !== undefined) return exact;
  }
  return prefix.length === 0 ? undefined : WILDCARDS.get(prefix.join('.'));
}
