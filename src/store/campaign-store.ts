/** Campaigns and their integration bindings. */
import { uuidv7 } from 'uuidv7';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { CampaignsTable, Database } from './schema.js';
import { pageOf } from './account-store.js';
import { isPostgres } from './bulk-insert.js';
import { detachDeliveries } from './campaign-run-moves.js';
import { isoTime, type Page } from '../domain/accounts.js';
import type {
  Binding,
  Campaign,
  CampaignState,
  CampaignType,
  CallEventType,
  CallStatus,
} from '../domain/campaign.js';

export type CampaignRow = Selectable<CampaignsTable>;

/** The query for a campaign's row; `ownerId` undefined: whoever owns it. */
export function selectCampaign(db: Kysely<Database>, id: string, ownerId: string | undefined) {
  const query = db.selectFrom('campaigns').selectAll().where('id', '=', id);
  return ownerId === undefined ? query : query.where('owner_id', '=', ownerId);
}

/** The campaign row, locked for the rest of the transaction (PostgreSQL; SQLite holds the write lock). */
export async function lockCampaign(
  trx: Kysely<Database>,
  id: string,
  ownerId: string | undefined,
): Promise<CampaignRow | undefined> {
  const query = selectCampaign(trx, id, ownerId);
  return (isPostgres(trx) ? query.forUpdate() : query).executeTakeFirst();
}

/** A running campaign's row, locked; undefined when it is not running or another worker holds it. */
export async function lockRunning(
  trx: Kysely<Database>,
  id: string,
): Promise<CampaignRow | undefined> {
  const query = selectCampaign(trx, id, undefined).where(sql<boolean>`state = 'running'`);
  return (isPostgres(trx) ? query.forUpdate().skipLocked() : query).executeTakeFirst();
}

export function toCampaign(row: CampaignRow): Campaign {
  return {
    id: row.id,
    ownerId: row.owner_id,
    name: row.name,
    type: row.type as CampaignType,
    createdAt: isoTime(Number(row.created_at))!,
    updatedAt: isoTime(Number(row.updated_at))!,
    contactListId: row.contact_list_id,
    integrationId: row.integration_id,
    ratePerSecond: row.rate_per_second === null ? null : Number(row.rate_per_second),
    state: row.state as CampaignState,
    startedAt: isoTime(row.started_at === null ? null : Number(row.started_at)),
    finishedAt: isoTime(row.finished_at === null ? null : Number(row.finished_at)),
    stopReason: row.stop_reason,
  };
}

/** The settings of an integration campaign (SPEC §6); null clears one. */
export interface RunSettings {
  contactListId?: string | null | undefined;
  integrationId?: string | null | undefined;
  ratePerSecond?: number | null | undefined;
}

export class CampaignStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {}

  async create(
    ownerId: string,
    input: { name: string; type: CampaignType; id?: string | undefined } & RunSettings,
  ): Promise<Campaign> {
    const now = this.now();
    const row: CampaignRow = {
      id: input.id ?? uuidv7(),
      owner_id: ownerId,
      name: input.name,
      type: input.type,
      contact_list_id: input.contactListId ?? null,
      integration_id: input.integrationId ?? null,
      rate_per_second: input.ratePerSecond ?? null,
      state: 'idle',
      created_at: now,
      updated_at: now,
      total: 0,
      end_position: 0,
      next_position: 0,
      next_send_at: 0,
      started_at: null,
      finished_at: null,
      stop_reason: null,
    };
    await this.db.insertInto('campaigns').values(row).execute();
    return toCampaign(row);
  }

  async find(id: string, ownerId: string | undefined): Promise<Campaign | undefined> {
    const row = await selectCampaign(this.db, id, ownerId).executeTakeFirst();
    return row && toCampaign(row);
  }

  /** A page of campaigns, as rows: an integration campaign's progress needs its run's columns. */
  async list(
    ownerId: string | undefined,
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<CampaignRow>> {
    let query = this.db
      .selectFrom('campaigns')
      .selectAll()
      .orderBy('id')
      .limit(page.limit + 1);
    if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
    if (page.cursor !== undefined) query = query.where('id', '>', page.cursor);
    return pageOf(await query.execute(), page.limit);
  }

  /** Renames a campaign (an integration campaign's settings: `CampaignRunStore.configure`). */
  async update(id: string, patch: { name?: string | undefined }): Promise<void> {
    if (patch.name === undefined) return;
    await this.db
      .updateTable('campaigns')
      .set({ name: patch.name, updated_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Deletes a campaign and its bindings; its contact deliveries stay as history, no longer its
   * (`detachDeliveries`). An integration campaign that is running or paused is not deleted (its
   * state is answered): stop it first.
   */
  async delete(
    id: string,
    ownerId: string | undefined,
  ): Promise<'deleted' | 'not-found' | { state: CampaignState }> {
    return this.db.transaction().execute(async (trx) => {
      let query = trx
        .deleteFrom('campaigns')
        .where('id', '=', id)
        .where('state', 'not in', ['running', 'paused']);
      if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
      const result = await query.executeTakeFirst();
      // Bindings go only with a campaign the caller may delete: a refused delete touches nothing.
      if (Number(result.numDeletedRows) === 0) {
        let still = trx.selectFrom('campaigns').select('state').where('id', '=', id);
        if (ownerId !== undefined) still = still.where('owner_id', '=', ownerId);
        const found = await still.executeTakeFirst();
        return found === undefined ? 'not-found' : { state: found.state as CampaignState };
      }
      await trx.deleteFrom('bindings').where('campaign_id', '=', id).execute();
      await detachDeliveries(trx, id, this.now());
      return 'deleted';
    });
  }

  async bindings(campaignId: string): Promise<Binding[]> {
    const rows = await this.db
      .selectFrom('bindings')
      .select(['integration_id', 'on_events', 'statuses'])
      .where('campaign_id', '=', campaignId)
      .orderBy('position')
      .execute();
    return rows.map((row) => ({
      integrationId: row.integration_id,
      on: JSON.parse(row.on_events) as CallEventType[],
      ...(row.statuses === null ? {} : { statuses: JSON.parse(row.statuses) as CallStatus[] }),
    }));
  }

  /** Replaces the campaign's bindings as a whole. */
  async replaceBindings(campaignId: string, bindings: readonly Binding[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('bindings').where('campaign_id', '=', campaignId).execute();
      if (bindings.length === 0) return;
      await trx
        .insertInto('bindings')
        .values(
          bindings.map((b, position) => ({
            id: uuidv7(),
            campaign_id: campaignId,
            integration_id: b.integrationId,
            on_events: JSON.stringify(b.on),
            statuses: b.statuses === undefined ? null : JSON.stringify(b.statuses),
            position,
          })),
        )
        .execute();
    });
    await this.db
      .updateTable('campaigns')
      .set({ updated_at: this.now() })
      .where('id', '=', campaignId)
      .execute();
  }
}
