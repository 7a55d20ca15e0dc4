/**
 * Runs of integration campaigns (SPEC §6, docs/campaigns.md): the state changes a user asks for,
 * the pump that hands a running campaign's contacts to the delivery queue at its rate, its
 * progress and its per-contact results.
 *
 * The campaign row is the run's lock and its memory: every change of state and every pump holds it
 * (PostgreSQL `FOR UPDATE`; SQLite's write lock), and the pump moves the run's position in the
 * same transaction as the deliveries it stores. A process that dies loses nothing: the next pump,
 * in any worker process, goes on from the position that committed, and the unique index on
 * `(campaign_id, contact_id)` keeps a contact from ever getting two deliveries.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import { inWriteTransaction, type WriteStore } from './write-transaction.js';
import {
  lockCampaign,
  lockRunning,
  selectCampaign,
  type CampaignRow,
  type RunSettings,
} from './campaign-store.js';
import {
  CAMPAIGN_KIND,
  endedColumns,
  integrationDeleted,
  integrationProblem,
  moveTo,
  refused,
  respace,
  rewindUnsent,
  startCheck,
  type Refusal,
} from './campaign-run-moves.js';
import { holdPending, releaseHeld } from './campaign-run-holds.js';
import { handOver, nextMove } from './campaign-run-pump.js';
import { type Page } from '../domain/accounts.js';
import { deliveriesOf, toResult, type ContactResult } from './campaign-run-results.js';
import {
  progressOf,
  transition,
  type CampaignAction,
  type CampaignProgress,
  type CampaignState,
} from '../domain/campaign.js';
import { CHUNK } from './delivery-store.js';

export { type Refusal } from './campaign-run-moves.js';
export { type ContactResult } from './campaign-run-results.js';
export { MAX_PER_PUMP } from './campaign-run-pump.js';

export type RunAnswer = { kind: 'done'; row: CampaignRow } | { kind: 'not-found' } | Refusal;

/** What one pump of a campaign did. */
export interface PumpResult {
  /** Deliveries stored for contacts of the run. */
  enqueued: number;
  /** The run ended: every contact has a final result. */
  completed: boolean;
}

export class CampaignRunStore {
  constructor(
    private readonly store: WriteStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** A campaign's row with its run's columns; `ownerId` undefined: whoever owns it. */
  async find(id: string, ownerId: string | undefined): Promise<CampaignRow | undefined> {
    return selectCampaign(this.store.db, id, ownerId).executeTakeFirst();
  }

  /**
   * `start`, `pause`, `resume` or `stop`, under the campaign's lock (`transition` in
   * src/domain/campaign.ts says which state allows which). Starting takes the list's contacts as
   * they are then: contacts added later are not part of the run.
   */
  act(id: string, ownerId: string | undefined, action: CampaignAction): Promise<RunAnswer> {
    return inWriteTransaction(this.store, async (trx) => {
      const row = await lockCampaign(trx, id, ownerId);
      if (row === undefined) return { kind: 'not-found' };
      if (row.type !== 'integration') {
        return refused(
          `Campaign ${id} is a ${row.type} campaign: only an integration campaign is started, paused, resumed or stopped`,
        );
      }
      const state = row.state as CampaignState;
      const next = transition(state, action);
      if (next.kind === 'refused') return refused(`Campaign ${id} is ${state}: ${next.why}`);
      if (next.kind === 'already') return { kind: 'done', row };
      const now = this.now();
      let how: { listSize?: number; also?: Partial<CampaignRow> } = {};
      if (action === 'start') {
        const check = await startCheck(trx, row);
        if (check.kind === 'refused') return check;
        how = { listSize: check.listSize };
      }
      if (action === 'resume') {
        const problem = await integrationProblem(trx, row, 'resume');
        if (problem !== undefined) return problem;
        // The held deliveries go first; the run's next slot moves past them.
        how = { also: await releaseHeld(trx, row, now) };
      }
      const changes = await moveTo(trx, row, next.to, now, how);
      // The rest of the run's deliveries wait with it: its retries too (campaign-run-holds.ts).
      if (action === 'pause') await holdPending(trx, id);
      return { kind: 'done', row: { ...row, ...changes } };
    });
  }

  /**
   * Renames a campaign and changes an integration campaign's settings, under its lock: its contact
   * list and integration only before it starts; its rate until it ends (a running one takes the new
   * rate at once: what it had scheduled ahead is rescheduled). A value equal to the stored one is
   * no change, so a read campaign can be sent back as it is.
   */
  configure(
    id: string,
    ownerId: string | undefined,
    patch: RunSettings & { name?: string | undefined },
  ): Promise<RunAnswer> {
    return inWriteTransaction(this.store, async (trx) => {
      const row = await lockCampaign(trx, id, ownerId);
      if (row === undefined) return { kind: 'not-found' };
      const state = row.state as CampaignState;
      const changed = {
        contactListId:
          patch.contactListId !== undefined && patch.contactListId !== row.contact_list_id,
        integrationId:
          patch.integrationId !== undefined && patch.integrationId !== row.integration_id,
        ratePerSecond:
          patch.ratePerSecond !== undefined &&
          patch.ratePerSecond !==
            (row.rate_per_second === null ? null : Number(row.rate_per_second)),
      };
      const fixed = (['contactListId', 'integrationId'] as const).filter((f) => changed[f]);
      if (fixed.length > 0 && state !== 'idle') {
        return refused(
          `Campaign ${id} is ${state}: its contact list and integration are fixed once it has started`,
          fixed.map((field) => ({
            field: `body.${field}`,
            message: `cannot change while ${state}`,
          })),
        );
      }
      if (changed.ratePerSecond && (state === 'stopped' || state === 'completed')) {
        return refused(`Campaign ${id} is ${state}: its rate no longer applies`, [
          { field: 'body.ratePerSecond', message: `cannot change while ${state}` },
        ]);
      }
      if (changed.ratePerSecond && patch.ratePerSecond === null && state !== 'idle') {
        return refused(`Campaign ${id} is ${state}: a campaign that has started needs a rate`, [
          { field: 'body.ratePerSecond', message: `cannot be cleared while ${state}` },
        ]);
      }
      const now = this.now();
      let set: Partial<CampaignRow> = {
        ...(patch.name === undefined ? {} : { name: patch.name }),
        ...(changed.contactListId ? { contact_list_id: patch.contactListId! } : {}),
        ...(changed.integrationId ? { integration_id: patch.integrationId! } : {}),
        ...(changed.ratePerSecond ? { rate_per_second: patch.ratePerSecond! } : {}),
        updated_at: now,
      };
      // A new rate: what a running campaign scheduled ahead is taken back, and its next slot
      // follows the new interval; all in the row's one write.
      if (changed.ratePerSecond && (state === 'running' || state === 'paused')) {
        if (state === 'running') set = { ...set, ...(await rewindUnsent(trx, { ...row, ...set })) };
        set = { ...set, ...respace({ ...row, ...set }, Number(row.rate_per_second)) };
      }
      await trx.updateTable('campaigns').set(set).where('id', '=', id).execute();
      return { kind: 'done', row: { ...row, ...set } };
    });
  }

  /** Where a run stands: every contact counted once (`progressOf`). */
  async progress(row: Pick<CampaignRow, 'id' | 'total' | 'state'>): Promise<CampaignProgress> {
    return (await this.progressOfRuns([row])).get(row.id)!;
  }

  /**
   * Where each of these runs stands (a page of the campaign list), by campaign id: one statement
   * for them all, through `deliveries_campaign_status` (status, campaign_id), a count of index
   * entries.
   */
  async progressOfRuns(
    rows: readonly Pick<CampaignRow, 'id' | 'total' | 'state'>[],
  ): Promise<Map<string, CampaignProgress>> {
    const counts = new Map(
      rows.map((row) => [row.id, { pending: 0, succeeded: 0, failed: 0, cancelled: 0 }]),
    );
    for (let i = 0; i < rows.length; i += CHUNK) {
      const found = await this.store.db
        .selectFrom('deliveries')
        .select(['campaign_id', 'status', (eb) => eb.fn.countAll<number | string>().as('n')])
        .where(CAMPAIGN_KIND)
        .where('status', 'in', ['pending', 'succeeded', 'failed', 'cancelled'])
        .where(
          'campaign_id',
          'in',
          rows.slice(i, i + CHUNK).map((row) => row.id),
        )
        .groupBy(['campaign_id', 'status'])
        .execute();
      for (const { campaign_id, status, n } of found) {
        const of = counts.get(campaign_id!)!;
        of[status as keyof typeof of] = Number(n);
      }
    }
    return new Map(
      rows.map((row) => [
        row.id,
        progressOf(Number(row.total), row.state as CampaignState, counts.get(row.id)!),
      ]),
    );
  }

  /**
   * A page of the run's contacts, in list order, each with its delivery's state; the cursor is
   * the last position seen. `status` keeps those with that status only: contacts are read a chunk
   * at a time until the page is full.
   *
   * Two statements per chunk, each with one plan whatever the statistics say: the contacts by
   * position (`contacts_list`), then their deliveries by contact id (`deliveries_campaign_contact`,
   * the only index led by `campaign_id`). Joined in one statement, PostgreSQL with statistics taken
   * before the run planned a walk of the campaign's deliveries per contact (16 s for a page at
   * 100,000 contacts).
   */
  async results(
    row: Pick<CampaignRow, 'id' | 'contact_list_id' | 'end_position' | 'state'>,
    page: { cursor?: number | undefined; limit: number; status?: string | undefined },
  ): Promise<Page<ContactResult> & { lastPosition: number | null }> {
    const listId = row.contact_list_id;
    if (listId === null) return { items: [], nextCursor: null, lastPosition: null };
    const state = row.state as CampaignState;
    const found: { position: number; result: ContactResult }[] = [];
    const chunk = page.status === undefined ? page.limit + 1 : Math.max(page.limit + 1, 500);
    let after = page.cursor ?? -1;
    while (found.length <= page.limit) {
      const contacts = await this.store.db
        .selectFrom('contacts')
        .select(['position', 'external_id', 'phone', 'first_name', 'last_name', 'email'])
        .where('list_id', '=', listId)
        .where('position', '>', after)
        .where('position', '<', Number(row.end_position))
        .orderBy('position')
        .limit(chunk)
        .execute();
      const deliveries = await deliveriesOf(
        this.store.db,
        row.id,
        contacts.map((c) => c.external_id!),
      );
      for (const contact of contacts) {
        const result = toResult(contact, deliveries.get(contact.external_id!), state);
        if (page.status === undefined || result.status === page.status)
          found.push({ position: Number(contact.position), result });
        if (found.length > page.limit) break;
      }
      if (contacts.length < chunk) break;
      after = Number(contacts.at(-1)!.position);
    }
    const items = found.slice(0, page.limit);
    const last = items.at(-1);
    return {
      items: items.map((item) => item.result),
      nextCursor: found.length > page.limit ? String(last!.position) : null,
      lastPosition: last === undefined ? null : last.position,
    };
  }

  /** The running campaigns' rows, for the runner to decide which need a pump now. */
  async running(): Promise<CampaignRow[]> {
    return this.store.db
      .selectFrom('campaigns')
      .selectAll()
      .where(sql<boolean>`state = 'running'`)
      .execute();
  }

  /**
   * Hands the next contacts of a running campaign to the queue, each due at its own slot (one every
   * 1000 / ratePerSecond ms) up to `horizonMs` ahead, and completes the run once every contact has
   * a final result. At most about `horizonMs` worth of contacts wait unsent at a time: while the
   * integration cannot take them (circuit open, at its limits) the pump stores no more, so when it
   * can again they do not all go at once. A campaign whose integration is disabled waits; one whose
   * integration was deleted is stopped. On PostgreSQL a campaign another worker is pumping is
   * skipped. What it would do is read first (`nextMove`, on `seen`, the row as `running()` read
   * it): a run with nothing to move now opens no write transaction. With the row locked it is
   * asked again, as the row and its integration are then: the run may have moved since, or its
   * integration been disabled or deleted, or a delivery been retried.
   */
  async pump(seen: CampaignRow, horizonMs: number): Promise<PumpResult> {
    const nothing: PumpResult = { enqueued: 0, completed: false };
    // Read first: a run that waits (its integration disabled, no room, retries pending) is looked
    // at several times a second by every worker, and should not take the write lock each time.
    if ((await nextMove(this.store.db, seen, this.now(), horizonMs)).kind === 'wait')
      return nothing;
    // Its deliveries and position commit together; lost in a power cut, both are lost together
    // and the next pump hands the same contacts over again: the commit need not wait for the disk.
    return inWriteTransaction(
      this.store,
      async (trx) => {
        const row = await lockRunning(trx, seen.id);
        if (row === undefined) return nothing;
        const now = this.now();
        const move = await nextMove(trx, row, now, horizonMs);
        switch (move.kind) {
          case 'wait':
            return nothing;
          case 'stop':
            await moveTo(trx, row, 'stopped', now, { stopReason: move.reason });
            return nothing;
          case 'hand-over':
            return { enqueued: await handOver(trx, row, now, move), completed: false };
          case 'complete':
            await moveTo(trx, row, 'completed', now);
            return { enqueued: 0, completed: true };
        }
      },
      { durable: false },
    );
  }
}

/**
 * Stops the running and paused campaigns of an integration being deleted, inside its delete (whose
 * transaction cancels their pending deliveries): `stopReason` says why.
 */
export async function stopRunsOfIntegration(
  trx: Kysely<Database>,
  integrationId: string,
  now: number,
): Promise<void> {
  await trx
    .updateTable('campaigns')
    .set(endedColumns('stopped', now, integrationDeleted(integrationId)))
    .where('integration_id', '=', integrationId)
    .where('state', 'in', ['running', 'paused'])
    .execute();
}
