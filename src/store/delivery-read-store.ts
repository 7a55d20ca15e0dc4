/** Reading deliveries and their attempt logs for the API (the queue owns their writes). */
import type { Kysely, Selectable } from 'kysely';
import type { AttemptsTable, Database, DeliveriesTable } from './schema.js';
import { pageOf } from './account-store.js';
import { isoTime, type Page } from '../domain/accounts.js';
import {
  BLOCKED_AT,
  HELD,
  deliveryIdentity,
  type DeliveryIdentity,
  type DeliveryStatus,
} from './delivery-store.js';

export interface DeliveryView extends DeliveryIdentity {
  status: DeliveryStatus;
  attempts: number;
  /** When the next attempt is due; null when finished or waiting behind an earlier delivery. */
  nextAttemptAt: string | null;
  /** Waiting for an earlier delivery of the same call (per-call ordering). */
  waiting: boolean;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

export interface AttemptView {
  attempt: number;
  at: string;
  integrationVersion: number;
  outcome: string;
  durationMs: number;
  request: unknown;
  response: unknown;
  error: string | null;
}

export interface DeliveryFilter {
  ownerId: string | undefined;
  integrationId?: string | undefined;
  status?: string | undefined;
  kind?: string | undefined;
  eventId?: string | undefined;
  campaignId?: string | undefined;
}

function toView(row: Selectable<DeliveriesTable>): DeliveryView {
  const pending = row.status === 'pending';
  const waiting = pending && Number(row.next_attempt_at) >= BLOCKED_AT;
  // Held while its campaign is paused: it has no time until the resume.
  const held = pending && Number(row.next_attempt_at) >= HELD;
  return {
    ...deliveryIdentity(row),
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    nextAttemptAt: pending && !held ? isoTime(Number(row.next_attempt_at)) : null,
    waiting,
    lastStatus: row.last_status,
    lastError: row.last_error,
    createdAt: isoTime(row.created_at)!,
    updatedAt: isoTime(row.updated_at)!,
    completedAt: isoTime(row.completed_at),
  };
}

function toAttempt(row: Selectable<AttemptsTable>): AttemptView {
  return {
    attempt: row.attempt,
    at: isoTime(row.started_at)!,
    integrationVersion: row.integration_version,
    outcome: row.outcome,
    durationMs: row.duration_ms,
    request: JSON.parse(row.request) as unknown,
    response: row.response === null ? null : (JSON.parse(row.response) as unknown),
    error: row.error,
  };
}

export class DeliveryReadStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Newest first. */
  async list(
    filter: DeliveryFilter,
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<DeliveryView>> {
    let query = this.db
      .selectFrom('deliveries')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(page.limit + 1);
    if (filter.ownerId !== undefined) query = query.where('owner_id', '=', filter.ownerId);
    if (filter.integrationId !== undefined)
      query = query.where('integration_id', '=', filter.integrationId);
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind);
    if (filter.eventId !== undefined) query = query.where('event_id', '=', filter.eventId);
    if (filter.campaignId !== undefined) query = query.where('campaign_id', '=', filter.campaignId);
    if (page.cursor !== undefined) query = query.where('id', '<', page.cursor);
    return pageOf((await query.execute()).map(toView), page.limit);
  }

  async find(
    id: string,
    ownerId: string | undefined,
  ): Promise<(DeliveryView & { attemptLog: AttemptView[] }) | undefined> {
    let query = this.db.selectFrom('deliveries').selectAll().where('id', '=', id);
    if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
    const row = await query.executeTakeFirst();
    if (row === undefined) return undefined;
    const attempts = await this.db
      .selectFrom('attempts')
      .selectAll()
      .where('delivery_id', '=', id)
      .orderBy('attempt')
      .execute();
    return { ...toView(row), attemptLog: attempts.map(toAttempt) };
  }
}
