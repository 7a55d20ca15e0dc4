/** The API's shapes the console reads (GET /api/openapi.json has them all). */

export type Permission = 'integration' | 'campaign' | 'contact' | 'event_ingest' | 'user_admin';
export const PERMISSIONS: readonly Permission[] = [
  'integration',
  'campaign',
  'contact',
  'event_ingest',
  'user_admin',
];

export interface User {
  id: string;
  email: string;
  name: string;
  admin: boolean;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface UserDetail extends User {
  permissions: Permission[];
  effectivePermissions: Permission[];
  roleIds: string[];
}

export interface Role {
  id: string;
  name: string;
  description: string;
  permissions: Permission[];
  createdAt: string;
}

export interface HttpConfig {
  url: string;
  method: string;
  body: string;
  headers: string;
  responseEncoding: string;
  maxRedirects?: number;
}

export interface SoapParam {
  name: string;
  value: string;
  secret: boolean;
}

export interface SoapConfig {
  wsdlUrl: string;
  operation: string;
  service?: string;
  port?: string;
  params: SoapParam[];
  headers: string;
  responseEncoding: string;
  wsSecurity?: { username: string; password: string };
}

export interface ResponseVariable {
  name: string;
  path: string;
  default?: string;
}

export interface IntegrationOptions {
  timeoutMs: number;
  retry: { maxAttempts: number; scheduleSeconds?: number[] };
  maxConcurrency?: number;
  ratePerSecond?: number;
  signing?: { secret: string; previousSecret?: string; previousExpiresAt?: string };
  successStatuses?: number[];
  responseVariables: ResponseVariable[];
  cacheTtlSeconds?: number;
}

export interface Integration {
  id: string;
  ownerId: string;
  name: string;
  description: string;
  type: 'http' | 'soap';
  enabled: boolean;
  disabledReason: string | null;
  version: number;
  config: HttpConfig | SoapConfig;
  options: IntegrationOptions;
  createdAt: string;
  updatedAt: string;
}

export interface TestResult {
  request: { method: string; url: string; headers: [string, string][]; body: string | null } | null;
  response?: {
    status: number;
    headers: [string, string][];
    body: string;
    truncated: boolean;
    /** Why the body could not be decoded (its Content-Encoding). */
    bodyError?: string;
  };
  outcome?: { kind: string; success: boolean; message: string };
  error?: string;
  durationMs: number;
  version: number;
}

export interface Token {
  token: string;
  group: string;
  type: string;
  description: string;
  example: unknown;
  values?: string[];
  wildcard?: boolean;
}

export interface TokenCatalog {
  items: Token[];
  groups: { name: string; description: string }[];
  filters: { name: string; args: string; description: string; example: string }[];
}

export interface SoapParamSpec {
  name: string;
  /** Dotted from the operation's input (`customer.address.city`); `[]` marks a list. */
  path: string;
  type: string;
  required: boolean;
  repeated: boolean;
  /** A complex type's elements. */
  children?: SoapParamSpec[];
}

export interface SoapOperation {
  name: string;
  soapAction: string;
  params: SoapParamSpec[];
}

export interface SoapDescription {
  wsdlUrl: string;
  services: {
    name: string;
    ports: { name: string; address: string; soapVersion: string; operations: SoapOperation[] }[];
  }[];
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'cancelled';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = [
  'pending',
  'succeeded',
  'failed',
  'cancelled',
];

export interface Delivery {
  id: string;
  ownerId: string;
  integrationId: string;
  kind: string;
  eventId: string | null;
  campaignId: string | null;
  contactId: string | null;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  waiting: boolean;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

export interface Attempt {
  attempt: number;
  at: string;
  integrationVersion: number;
  outcome: string;
  durationMs: number;
  request: unknown;
  response: unknown;
  error: string | null;
}

export interface DeliveryDetail extends Delivery {
  attemptLog: Attempt[];
}

/** `GET /api/v1/integrations/:id/health`. */
export interface IntegrationHealth {
  circuit: 'closed' | 'open' | 'half-open';
  probeAt: string | null;
  consecutiveFailures: number;
  failingSince: string | null;
  hold: { reason: 'concurrency' | 'rate' | 'circuit' | 'probe'; until: string } | null;
  pending: number;
  inFlight: number;
}

export interface ReplayJob {
  id: string;
  integrationId: string;
  since: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  total: number;
  requeued: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface Progress {
  total: number;
  pending: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

export interface Campaign {
  id: string;
  ownerId: string;
  name: string;
  type: 'voice' | 'ivr' | 'integration';
  createdAt: string;
  updatedAt: string;
  contactListId?: string | null;
  integrationId?: string | null;
  ratePerSecond?: number | null;
  state?: 'idle' | 'running' | 'paused' | 'stopped' | 'completed';
  startedAt?: string | null;
  finishedAt?: string | null;
  stopReason?: string | null;
  progress?: Progress;
}

export const EVENT_TYPES = [
  'call.started',
  'call.ringing',
  'call.answered',
  'call.ended',
  'call.ivr_input',
] as const;
export const CALL_STATUSES = ['answered', 'no_answer', 'busy', 'failed', 'cancelled'] as const;

export interface Binding {
  campaignId?: string;
  integrationId: string;
  on: string[];
  statuses?: string[];
}

export interface CampaignResult {
  contactId: string;
  phone: string;
  firstName: string | null;
  lastName: string | null;
  status: DeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  deliveryId: string | null;
  completedAt: string | null;
}

export interface ContactList {
  id: string;
  ownerId: string;
  name: string;
  size: number;
  createdAt: string;
}

export interface Contact {
  id: string;
  phone: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  address?: string;
  description?: string;
  custom: Record<string, unknown>;
}
