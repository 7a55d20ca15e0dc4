/** Integrations and their versions. Config and options are stored sealed (secrets encrypted). */
import { uuidv7 } from 'uuidv7';
import type { Kysely, Selectable } from 'kysely';
import type { Database, IntegrationsTable } from './schema.js';
import { UniqueConflict, unique, type Store } from './db.js';
import { pageOf } from './account-store.js';
import { laneHealth, liftLimitHolds, readLane, resetLane, type LaneHealth } from './lane-store.js';
import { isPostgres } from './bulk-insert.js';
import { stopRunsOfIntegration } from './campaign-run-store.js';
import { inWriteTransaction } from './write-transaction.js';
import { isoTime, type Page } from '../domain/accounts.js';
import { SEALED_PREFIX } from '../security/secret-box.js';
import {
  ifMatchHolds,
  type Integration,
  type IntegrationOptions,
  type IntegrationType,
} from '../domain/integration.js';
import type { AnyConfig } from '../domain/integration-secrets.js';

export interface IntegrationInput {
  name: string;
  description: string;
  type: IntegrationType;
  enabled: boolean;
  config: AnyConfig;
  options: IntegrationOptions;
}

/**
 * An edit of a stored integration: `enabled` left out keeps the state stored when the edit is
 * written (an auto-disable that came after the caller's read stays).
 */
export type IntegrationEdit = Omit<IntegrationInput, 'enabled'> & { enabled?: boolean | undefined };

export interface IntegrationFilter {
  /** Only this owner's; undefined for all (admins). */
  ownerId: string | undefined;
  type?: IntegrationType | undefined;
  enabled?: boolean | undefined;
}

function toIntegration(
  row: Selectable<IntegrationsTable>,
  version: { config: string; options: string },
): Integration {
  return {
    id: row.id,
    ownerId: row.owner_id,
    name: row.name,
    description: row.description,
    type: row.type,
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason,
    version: row.version,
    config: JSON.parse(version.config) as AnyConfig,
    options: JSON.parse(version.options) as IntegrationOptions,
    createdAt: isoTime(row.created_at)!,
    updatedAt: isoTime(row.updated_at)!,
  } as Integration;
}

/** A sealed value inside a stored config or options document. */
const SEALED_VALUE = new RegExp(`${SEALED_PREFIX}[A-Za-z0-9_-]+`, 'g');

export class IntegrationStore {
  private readonly db: Kysely<Database>;
  private readonly changeListeners = new Set<(id: string) => void>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.db = store.db;
  }

  /**
   * Calls `listener` with the id of each integration this store edits or deletes, once the change
   * is committed: a cache of integrations in the same process drops it at once. (Another
   * process's caches are not told; they keep a row for at most their own short time.)
   */
  onChange(listener: (id: string) => void): void {
    this.changeListeners.add(listener);
  }

  private changed(id: string): void {
    for (const listener of this.changeListeners) listener(id);
  }

  /** How the integration's deliveries are doing: circuit, failure streak, hold, queue. */
  health(id: string): Promise<LaneHealth> {
    return laneHealth(this.db, id, this.now());
  }

  async create(ownerId: string, input: IntegrationInput): Promise<Integration> {
    const now = this.now();
    const row = {
      id: uuidv7(),
      owner_id: ownerId,
      name: input.name,
      description: input.description,
      type: input.type,
      enabled: input.enabled ? 1 : 0,
      version: 1,
      disabled_reason: null,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    const version = {
      config: JSON.stringify(input.config),
      options: JSON.stringify(input.options),
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('integrations').values(row).execute();
      await trx
        .insertInto('integration_versions')
        .values({ integration_id: row.id, version: 1, ...version, created_at: now })
        .execute();
    });
    return toIntegration(row, version);
  }

  /** Integrations not deleted, each with its current version's config and options. */
  private current() {
    return this.db
      .selectFrom('integrations')
      .innerJoin('integration_versions', (join) =>
        join
          .onRef('integration_versions.integration_id', '=', 'integrations.id')
          .onRef('integration_versions.version', '=', 'integrations.version'),
      )
      .selectAll('integrations')
      .select(['integration_versions.config', 'integration_versions.options'])
      .where('integrations.deleted_at', 'is', null);
  }

  /** The current version, or undefined when missing, deleted or not `ownerId`'s. */
  async find(id: string, ownerId: string | undefined): Promise<Integration | undefined> {
    let query = this.current().where('integrations.id', '=', id);
    if (ownerId !== undefined) query = query.where('integrations.owner_id', '=', ownerId);
    const row = await query.executeTakeFirst();
    return row && toIntegration(row, row);
  }

  /** One version as stored, whatever its state (workers render with the current one). */
  async findVersion(
    id: string,
    version: number,
  ): Promise<{ config: AnyConfig; options: IntegrationOptions } | undefined> {
    const row = await this.db
      .selectFrom('integration_versions')
      .select(['config', 'options'])
      .where('integration_id', '=', id)
      .where('version', '=', version)
      .executeTakeFirst();
    return (
      row && {
        config: JSON.parse(row.config) as AnyConfig,
        options: JSON.parse(row.options) as IntegrationOptions,
      }
    );
  }

  async list(
    filter: IntegrationFilter,
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<Integration>> {
    let query = this.current()
      .orderBy('integrations.id')
      .limit(page.limit + 1);
    if (filter.ownerId !== undefined)
      query = query.where('integrations.owner_id', '=', filter.ownerId);
    if (filter.type !== undefined) query = query.where('integrations.type', '=', filter.type);
    if (filter.enabled !== undefined)
      query = query.where('integrations.enabled', '=', filter.enabled ? 1 : 0);
    if (page.cursor !== undefined) query = query.where('integrations.id', '>', page.cursor);
    const rows = await query.execute();
    return pageOf(
      rows.map((row) => toIntegration(row, row)),
      page.limit,
    );
  }

  /**
   * Saves `next` as a new version of `current`. Two concurrent updates of the same version
   * collide on the version key: the second gets `UniqueConflict`. So does an edit whose `ifMatch`
   * (the tags of `If-Match`, `*` for any) does not hold the stored integration's tag, read under
   * the lane lock: e.g. one based on a read from before an auto-disable.
   */
  async update(
    current: Integration,
    next: IntegrationEdit,
    precondition: { ifMatch?: readonly string[] | undefined } = {},
  ): Promise<Integration> {
    const now = this.now();
    const version = current.version + 1;
    const stored = { config: JSON.stringify(next.config), options: JSON.stringify(next.options) };
    await unique(this.store, () =>
      this.db.transaction().execute(async (trx) => {
        // The lane row first, as completions take it (they may disable the integration after
        // writing its lane): then no auto-disable can come between the read below and this edit.
        await readLane(trx, current.id, isPostgres(trx));
        const before = await trx
          .selectFrom('integrations')
          .select(['enabled', 'disabled_reason', 'version'])
          .where('id', '=', current.id)
          .executeTakeFirst();
        const { ifMatch } = precondition;
        if (
          before !== undefined &&
          !ifMatchHolds(ifMatch, { ...before, enabled: before.enabled === 1 })
        ) {
          throw new UniqueConflict(new Error('integration changed since the If-Match read'));
        }
        // What is stored now, not what `current` showed: an auto-disable since then stays unless
        // the edit sets `enabled` itself, and keeps its reason while the integration stays off.
        const enabled = next.enabled ?? before?.enabled === 1;
        // Guarded by the version read and by not being deleted: a concurrent edit or delete makes
        // this a conflict (the caller reads again) instead of a write onto a stale row.
        const moved = await trx
          .updateTable('integrations')
          .set({
            name: next.name,
            description: next.description,
            enabled: enabled ? 1 : 0,
            // Enabling again clears the reason Callhook disabled it for.
            disabled_reason: enabled ? null : (before?.disabled_reason ?? null),
            version,
            updated_at: now,
          })
          .where('id', '=', current.id)
          .where('version', '=', current.version)
          .where('deleted_at', 'is', null)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1)
          throw new UniqueConflict(new Error('integration changed or deleted'));
        await trx
          .insertInto('integration_versions')
          .values({ integration_id: current.id, version, ...stored, created_at: now })
          .execute();
        // New limits apply from the next claim, not once a hold the old ones set runs out.
        await liftLimitHolds(trx, current.id, now);
        // Enabled again: a fresh start (no failure streak, circuit closed, no hold).
        if (enabled && before?.enabled === 0) await resetLane(trx, current.id, now);
      }),
    );
    this.changed(current.id);
    const saved = await this.find(current.id, undefined);
    if (saved === undefined) throw new UniqueConflict(new Error('integration deleted'));
    return saved;
  }

  /**
   * Deletes an integration: it disappears from reads and lists, its bindings go, the integration
   * campaigns running or paused with it stop and its pending deliveries are cancelled; delivered
   * history (deliveries, attempts, versions) is kept.
   */
  async delete(id: string, ownerId: string | undefined): Promise<boolean> {
    const now = this.now();
    // A write transaction from its first statement (SQLite `begin immediate`): a read first, in a
    // deferred one, fails at once with SQLITE_BUSY_SNAPSHOT if another connection commits before
    // the first write.
    const deleted = await inWriteTransaction(this.store, async (trx) => {
      let owned = trx
        .selectFrom('integrations')
        .select('id')
        .where('id', '=', id)
        .where('deleted_at', 'is', null);
      if (ownerId !== undefined) owned = owned.where('owner_id', '=', ownerId);
      if ((await owned.executeTakeFirst()) === undefined) return false;
      // Rows in the order every other writer takes them (docs/delivery.md, "Locks"): the
      // integration campaigns' (a stop or pause locks its campaign, then its deliveries), the
      // deliveries' (a completion writes them, then may disable the integration), the
      // integration's last.
      await stopRunsOfIntegration(trx, id, now);
      const cancelPending = () =>
        trx
          .updateTable('deliveries')
          .set({
            status: 'cancelled',
            last_error: 'integration deleted',
            updated_at: now,
            completed_at: now,
          })
          .where('integration_id', '=', id)
          .where('status', '=', 'pending')
          .execute();
      await cancelPending();
      await trx.deleteFrom('bindings').where('integration_id', '=', id).execute();
      const result = await trx
        .updateTable('integrations')
        .set({ deleted_at: now, enabled: 0, updated_at: now })
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      // Deleted meanwhile by another request, which cancelled the same deliveries.
      if (Number(result.numUpdatedRows) === 0) return false;
      // PostgreSQL: a retry or replay batch holding the integration's row (`lockForRequeue`) made
      // the write above wait for its commit; what it moved back to pending, after the first
      // cancel read, is cancelled now (each statement sees what committed before it).
      if (isPostgres(trx)) await cancelPending();
      return true;
    });
    if (deleted) this.changed(id);
    return deleted;
  }

  /**
   * Up to `limit` sealed secret values (`enc:v1:…`) from the newest integration versions that
   * hold one: start-up opens them to tell a wrong secret key from the right one.
   */
  async recentSealedValues(limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('integration_versions')
      .select(['config', 'options'])
      .where((eb) =>
        eb.or([
          eb('config', 'like', `%${SEALED_PREFIX}%`),
          eb('options', 'like', `%${SEALED_PREFIX}%`),
        ]),
      )
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.flatMap((row) =>
      [...`${row.config} ${row.options}`.matchAll(SEALED_VALUE)].map((m) => m[0]),
    );
  }
}
