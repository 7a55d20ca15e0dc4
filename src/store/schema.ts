/**
 * The tables as Kysely sees them. Portable types on both backends: ids and JSON are text,
 * timestamps are milliseconds since the epoch (bigint), flags are integers 0/1.
 */
import type { Generated } from 'kysely';

export interface Database {
  callhook_migrations: { name: string; applied_at: number };
  users: UsersTable;
  roles: RolesTable;
  user_permissions: { user_id: string; permission: string };
  role_permissions: { role_id: string; permission: string };
  user_roles: { user_id: string; role_id: string };
  api_keys: ApiKeysTable;
  sessions: SessionsTable;
  integrations: IntegrationsTable;
  integration_versions: IntegrationVersionsTable;
  campaigns: CampaignsTable;
  bindings: BindingsTable;
  contact_lists: ContactListsTable;
  contacts: ContactsTable;
  events: EventsTable;
  deliveries: DeliveriesTable;
  attempts: AttemptsTable;
  delivery_lanes: DeliveryLanesTable;
  replay_jobs: ReplayJobsTable;
  activity: ActivityTable;
  queue_samples: QueueSamplesTable;
}

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string | null;
  admin: number;
  disabled: number;
  created_at: number;
  updated_at: number;
}

export interface RolesTable {
  id: string;
  name: string;
  description: string;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  /** SHA-256 of the key, hex. The key itself is shown once and never stored. */
  key_hash: string;
  prefix: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface SessionsTable {
  /** SHA-256 of the cookie value, hex. */
  id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
}

export interface IntegrationsTable {
  id: string;
  owner_id: string;
  name: string;
  description: string;
  type: string;
  enabled: number;
  version: number;
  disabled_reason: string | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface IntegrationVersionsTable {
  integration_id: string;
  version: number;
  /** JSON; secret values inside are encrypted. */
  config: string;
  options: string;
  created_at: number;
}

export interface CampaignsTable {
  id: string;
  owner_id: string;
  name: string;
  type: string;
  contact_list_id: string | null;
  integration_id: string | null;
  rate_per_second: number | null;
  /** `idle`, `running`, `paused`, `stopped` or `completed` (integration campaigns). */
  state: string;
  created_at: number;
  updated_at: number;
  /** Contacts of the run: those of the list when it started (migration 0009). */
  total: Generated<number>;
  /** The run covers the list's contacts with a position below this. */
  end_position: Generated<number>;
  /** The next contact of the run to hand to the queue. */
  next_position: Generated<number>;
  /** When that contact may be sent, in (fractional) milliseconds since the epoch. */
  next_send_at: Generated<number>;
  started_at: number | null;
  finished_at: number | null;
  /** Why Callhook stopped the run (its integration was deleted); null when a user did. */
  stop_reason: string | null;
}

export interface BindingsTable {
  id: string;
  campaign_id: string;
  integration_id: string;
  /** JSON array of event types. */
  on_events: string;
  /** JSON array of call statuses, or null for any. */
  statuses: string | null;
  position: number;
}

export interface ContactListsTable {
  id: string;
  owner_id: string;
  name: string;
  created_at: number;
  /** Contacts in the list, and the position the next one takes (migration 0008). */
  size: Generated<number>;
}

export interface ContactsTable {
  id: string;
  list_id: string;
  position: number;
  /** The contact's id as the API shows it: the one imported, or a generated one. */
  external_id: string | null;
  phone: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  address: string | null;
  description: string | null;
  /** JSON object of custom fields. */
  custom: string;
}

export interface EventsTable {
  owner_id: string;
  /** The dialer's event id; unique per owner (idempotent ingest). */
  id: string;
  type: string;
  campaign_id: string;
  call_id: string | null;
  occurred_at: number;
  /** The event exactly as received, JSON. */
  payload: string;
  received_at: number;
}

export interface DeliveriesTable {
  id: string;
  owner_id: string;
  integration_id: string;
  /** `event`, `campaign` (one contact of an integration campaign) or `ivr`. */
  kind: string;
  event_id: string | null;
  campaign_id: string | null;
  contact_id: string | null;
  /** Deliveries of one integration with the same ordering key go out in sequence. */
  ordering_key: string | null;
  sequence: number;
  status: string;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
  last_status: number | null;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
  /** Attempts before the current retry budget (a replay or manual retry starts a new one). */
  attempt_offset: Generated<number>;
}

export interface AttemptsTable {
  id: Generated<number>;
  delivery_id: string;
  attempt: number;
  integration_version: number;
  started_at: number;
  duration_ms: number;
  outcome: string;
  /** JSON: the request as sent, secrets masked. */
  request: string;
  /** JSON: status, headers, first 64 KiB of the body; null when no response came. */
  response: string | null;
  error: string | null;
}

/** Per-integration delivery state shared by all workers (migration 0002, docs/delivery.md). */
export interface DeliveryLanesTable {
  integration_id: string;
  /** Lower bound of the earliest `next_attempt_at` of the lane's pending deliveries. */
  next_due_at: number;
  /** The lane is not claimed before this (rate, concurrency, circuit, probe in flight). */
  hold_until: Generated<number>;
  hold_reason: 'rate' | 'concurrency' | 'circuit' | 'probe' | null;
  /** Last claim that took from this lane: lanes are served least recently served first. */
  served_at: Generated<number>;
  /** The integration version the limits below were read from (0: never). */
  limits_version: Generated<number>;
  max_concurrency: Generated<number>;
  rate_per_second: number | null;
  lease_ms: Generated<number>;
  /** Token bucket of the rate limit. */
  tokens: Generated<number>;
  refilled_at: Generated<number>;
  circuit: Generated<'closed' | 'open' | 'half-open'>;
  /** Open: end of the cool-down. Half-open: end of the probe's lease. */
  circuit_until: Generated<number>;
  consecutive_failures: Generated<number>;
  failing_since: number | null;
  updated_at: number;
}

/** A replay of an integration's failed deliveries, run in batches by a worker (migration 0006). */
export interface ReplayJobsTable {
  id: string;
  owner_id: string;
  integration_id: string;
  /** Failed deliveries created at or after this are replayed (those created before the job too). */
  since: number;
  /** `running` until its last batch (`succeeded`), a batch that cannot be written, or a cancel. */
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  /** Failed deliveries the replay matched when it was asked for. */
  total: number;
  requeued: Generated<number>;
  /** The last delivery a batch handled (by `created_at`, then `id`); null before the first. */
  after_created_at: number | null;
  after_id: string | null;
  /**
   * The worker running the job and until when; another takes it over after that. With no owner,
   * a `lease_until` is when a job whose batch failed (transient error) may be taken again.
   */
  lease_owner: string | null;
  lease_until: number | null;
  /** Why it failed; while running, why its last batch failed (it is tried again). */
  error: string | null;
  /** Batches in a row that failed with a transient error (migration 0007). */
  batch_failures: Generated<number>;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** Deliveries and events counted per minute, owner and process (migration 0010, activity-store.ts). */
export interface ActivityTable {
  /** The minute's start, milliseconds since the epoch. */
  minute: number;
  owner_id: string;
  /** The process that counted them (a UUID per process). */
  process_id: string;
  /** Deliveries that succeeded. */
  succeeded: number;
  /** Deliveries that ended failed (retries used up, or an answer not retried). */
  failed: number;
  /** Attempts that failed and led to a retry. */
  retried: number;
  /** Events accepted at ingest. */
  events: number;
}

/** The queue's figures once a minute for the whole deployment (migration 0011, queue-history.ts). */
export interface QueueSamplesTable {
  /** The minute's start, milliseconds since the epoch. */
  minute: number;
  /** Pending deliveries. */
  pending: number;
  /**
   * Age of the oldest pending delivery that is due, of an enabled integration, in seconds (0 when
   * none is).
   */
  oldest_pending_age_seconds: number;
  /** Enabled integrations whose circuit is open, or half-open with deliveries pending. */
  open_circuits: number;
  /** When the figures were read (within the minute). */
  sampled_at: number;
}
