/**
 * Idempotent event ingest: the events of a batch and the deliveries their bindings produce are
 * stored in one transaction, so an acknowledged event is never lost and never half-stored.
 */
import { sql, type Kysely } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Database } from './schema.js';
import type { Tx } from './db.js';
import { bulkInsert, type ColumnType } from './bulk-insert.js';
import { laneOrder } from './lane-store.js';
import { bindingMatches, type Binding } from '../domain/campaign.js';
import type { CallEvent } from '../domain/call-event.js';

/** A delivery to create for a stored event. */
export interface NewDelivery {
  id: string;
  ownerId: string;
  integrationId: string;
  eventId: string;
  campaignId: string;
  /** Deliveries of one integration with the same key go out in `sequence` order (per call). */
  orderingKey: string | null;
  sequence: number;
  nextAttemptAt: number;
}

/** Inserts deliveries inside the caller's transaction (the queue owns their shape). */
export type Enqueue = (trx: Tx, deliveries: readonly NewDelivery[]) => Promise<void>;

export interface AcceptedEvent {
  event: CallEvent;
  occurredAtMs: number;
}

export interface IngestResult {
  accepted: string[];
  /** How many of `accepted` each owner has (the dashboard's activity counts them). */
  acceptedByOwner: Map<string, number>;
  duplicates: string[];
  deliveries: number;
}

interface CampaignBindings {
  ownerId: string;
  bindings: Binding[];
}

const CHUNK = 400;

/** An event's identity: ids are unique per owner. */
const keyOf = (owner: string, id: string) => `${owner}\u0000${id}`;

/** The columns of an ingested event, with their PostgreSQL types (see `bulkInsert`). */
export const EVENT_COLUMNS: readonly (readonly [string, ColumnType])[] = [
  ['owner_id', 'text'],
  ['id', 'text'],
  ['type', 'text'],
  ['campaign_id', 'text'],
  ['call_id', 'text'],
  ['occurred_at', 'bigint'],
  ['payload', 'text'],
  ['received_at', 'bigint'],
];

export class EventStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly enqueue: Enqueue,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The campaigns (with the bindings of enabled integrations) that `ownerId` may send events for;
   * all of them for an admin (`ownerId` undefined).
   */
  async campaignBindings(
    campaignIds: readonly string[],
    ownerId: string | undefined,
  ): Promise<Map<string, CampaignBindings>> {
    const result = new Map<string, CampaignBindings>();
    if (campaignIds.length === 0) return result;
    let campaigns = this.db
      .selectFrom('campaigns')
      .select(['id', 'owner_id'])
      .where('id', 'in', [...campaignIds]);
    if (ownerId !== undefined) campaigns = campaigns.where('owner_id', '=', ownerId);
    for (const row of await campaigns.execute())
      result.set(row.id, { ownerId: row.owner_id, bindings: [] });
    if (result.size === 0) return result;
    const rows = await this.db
      .selectFrom('bindings')
      .innerJoin('integrations', 'integrations.id', 'bindings.integration_id')
      .select([
        'bindings.campaign_id',
        'bindings.integration_id',
        'bindings.on_events',
        'bindings.statuses',
      ])
      .where('bindings.campaign_id', 'in', [...result.keys()])
      .where('integrations.enabled', '=', 1)
      .where('integrations.deleted_at', 'is', null)
      .orderBy('bindings.position')
      .execute();
    for (const row of rows) {
      result.get(row.campaign_id)?.bindings.push({
        integrationId: row.integration_id,
        on: JSON.parse(row.on_events) as Binding['on'],
        ...(row.statuses === null
          ? {}
          : { statuses: JSON.parse(row.statuses) as NonNullable<Binding['statuses']> }),
      });
    }
    return result;
  }

  /**
   * Stores `events` (already validated; their campaigns are in `campaigns`), skipping ids already
   * stored, and their deliveries, in one transaction. An event belongs to its campaign's owner:
   * ids are unique per owner.
   */
  async ingest(
    events: readonly AcceptedEvent[],
    campaigns: Map<string, CampaignBindings>,
  ): Promise<IngestResult> {
    const ownerOf = (event: CallEvent) => campaigns.get(event.campaignId)!.ownerId;
    const now = this.now();
    const accepted: string[] = [];
    const acceptedByOwner = new Map<string, number>();
    const duplicates: string[] = [];
    let deliveryCount = 0;
    await this.db.transaction().execute(async (trx) => {
      const seen = new Set<string>();
      const fresh: AcceptedEvent[] = [];
      for (const item of events) {
        const key = keyOf(ownerOf(item.event), item.event.id);
        if (seen.has(key)) duplicates.push(item.event.id);
        else {
          seen.add(key);
          fresh.push(item);
        }
      }
      // Inserted in key order, the same in every transaction: on PostgreSQL an insert of a key
      // another open transaction has inserted waits for it, so two batches holding the same ids
      // in different orders would each wait for the other (a deadlock, one batch refused).
      const byKey = fresh
        .map((item) => ({ item, key: keyOf(ownerOf(item.event), item.event.id) }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .map(({ item }) => item);
      const inserted = new Set<string>();
      for (let i = 0; i < byKey.length; i += CHUNK) {
        const chunk = byKey.slice(i, i + CHUNK);
        const values = chunk.map(({ event, occurredAtMs }) => ({
          owner_id: ownerOf(event),
          id: event.id,
          type: event.type,
          campaign_id: event.campaignId,
          call_id: typeof event.call.id === 'string' ? event.call.id : null,
          occurred_at: occurredAtMs,
          payload: JSON.stringify(event),
          received_at: now,
        }));
        const rows = await bulkInsert<{ owner_id: string; id: string }>(
          trx,
          'events',
          EVENT_COLUMNS,
          values,
          sql`on conflict (owner_id, id) do nothing returning owner_id, id`,
        );
        for (const row of rows) inserted.add(keyOf(row.owner_id, row.id));
      }
      const deliveries: NewDelivery[] = [];
      for (const { event, occurredAtMs } of fresh) {
        if (!inserted.has(keyOf(ownerOf(event), event.id))) {
          duplicates.push(event.id);
          continue;
        }
        accepted.push(event.id);
        const campaign = campaigns.get(event.campaignId)!;
        acceptedByOwner.set(campaign.ownerId, (acceptedByOwner.get(campaign.ownerId) ?? 0) + 1);
        // One delivery per integration: a campaign may bind one integration more than once, and
        // an event two of its bindings match must not send the same request twice.
        const bound = new Set<string>();
        for (const binding of campaign.bindings) {
          if (!bindingMatches(binding, event.type, event.call.status)) continue;
          if (bound.has(binding.integrationId)) continue;
          bound.add(binding.integrationId);
          deliveries.push({
            id: uuidv7(),
            ownerId: campaign.ownerId,
            integrationId: binding.integrationId,
            eventId: event.id,
            campaignId: event.campaignId,
            orderingKey: typeof event.call.id === 'string' ? `call:${event.call.id}` : null,
            sequence: occurredAtMs,
            nextAttemptAt: now,
          });
        }
      }
      // Chunks in integration order (a stable sort keeps each call's events in order): lanes are
      // then taken in one order across the chunks, as by every other transaction.
      deliveries.sort((a, b) => laneOrder(a.integrationId, b.integrationId));
      for (let i = 0; i < deliveries.length; i += CHUNK)
        await this.enqueue(trx, deliveries.slice(i, i + CHUNK));
      deliveryCount = deliveries.length;
    });
    return { accepted, acceptedByOwner, duplicates, deliveries: deliveryCount };
  }

  /**
   * Several events in one query, for a worker's batch of deliveries; in the order asked,
   * `undefined` for those no longer stored.
   */
  async findMany(
    keys: readonly { ownerId: string; id: string }[],
  ): Promise<(CallEvent | undefined)[]> {
    if (keys.length === 0) return [];
    const found = new Map<string, CallEvent>();
    const owners = [...new Set(keys.map((k) => k.ownerId))];
    for (let i = 0; i < keys.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('events')
        .select(['owner_id', 'id', 'payload'])
        .where('owner_id', 'in', owners)
        .where(
          'id',
          'in',
          keys.slice(i, i + CHUNK).map((k) => k.id),
        )
        .execute();
      for (const row of rows)
        found.set(keyOf(row.owner_id, row.id), JSON.parse(row.payload) as CallEvent);
    }
    return keys.map((k) => found.get(keyOf(k.ownerId, k.id)));
  }
}
