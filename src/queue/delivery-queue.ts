/**
 * The delivery queue over the store: enqueue inside the ingest transaction, claim with leases
 * under every lane's limits, complete (the attempt row and the delivery's next state in one
 * transaction), release, cancel, retry now, replay. docs/delivery.md tells the whole story.
 */
import type { Kysely } from 'kysely';
import type { Store } from '../store/db.js';
import type { Database } from '../store/schema.js';
import {
  cancelDelivery,
  enqueueDeliveries,
  finishDelivery,
  insertAttempt,
  releaseDelivery,
  releaseSuccessor,
  requeueFailed,
  scheduleRetry,
  toClaimed,
  type AttemptInput,
  type ClaimedDelivery,
  type DeliveryInput,
} from '../store/delivery-store.js';
import { inWriteTransaction } from '../store/write-transaction.js';
import { laneKey } from '../store/lane-keys.js';
import {
  finishSucceeded,
  insertAttempts,
  keysWithPending,
  unparkOrphans,
} from '../store/delivery-batch-store.js';
import {
  countLeased,
  disableIntegration,
  earliestDue,
  laneOrder,
  markLaneUntouched,
  markLaneUp,
  noteDue,
  queueSnapshot,
  readLane,
  readLimits,
  updateLane,
  type LaneRow,
} from '../store/lane-store.js';
import type { Decision } from '../delivery/retry-policy.js';
import type { ClaimBackend } from './claim-backend.js';
import {
  DEFAULT_LANE_SETTINGS,
  applyLimits,
  laneAfterClaim,
  laneAfterFailure,
  limitsOf,
  planLane,
  type LaneSettings,
} from './lanes.js';
import { postgresClaim } from './postgres-claim.js';
import { sqliteClaim } from './sqlite-claim.js';

export interface QueueOptions {
  /** Milliseconds since the epoch; tests inject a fake clock. */
  clock?: () => number;
  lanes?: Partial<LaneSettings>;
}

/** What an attempt came to, for `complete()`. */
export interface CompletedAttempt {
  decision: Decision;
  /** What the attempt says about the remote (see `endpointHealth`). */
  health: 'up' | 'down' | 'none';
  /** The attempt log row; its number and outcome come from the claim and the decision. */
  record: Omit<AttemptInput, 'attempt' | 'outcome'>;
  /** HTTP status, when the remote answered one. */
  lastStatus: number | null;
  /** One line for the delivery's `last_error`; null on success. */
  error: string | null;
}

export interface CompleteResult {
  /** False when the lease was lost (cancelled, or re-claimed after it expired); the attempt is logged anyway. */
  applied: boolean;
  /** Set when this failure disabled the integration. */
  disabled?: string;
}

export class DeliveryQueue {
  private readonly clock: () => number;
  private readonly settings: LaneSettings;
  private readonly backend: ClaimBackend;

  constructor(
    private readonly store: Pick<Store, 'db' | 'backend' | 'beginExclusive' | 'lazyCommit'>,
    options: QueueOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.settings = {
      ...DEFAULT_LANE_SETTINGS,
      ...options.lanes,
      circuit: { ...DEFAULT_LANE_SETTINGS.circuit, ...options.lanes?.circuit },
    };
    this.backend = store.backend === 'postgres' ? postgresClaim : sqliteClaim;
  }

  /**
   * Stores deliveries inside the caller's transaction (fits `EventStore`'s `Enqueue`).
   *
   * ### Examples
   * ```ts
   * const events = new EventStore(store.db, queue.enqueue);
   * ```
   */
  readonly enqueue = (trx: Kysely<Database>, deliveries: readonly DeliveryInput[]) =>
    enqueueDeliveries(trx, deliveries, this.clock());

  /** Leases up to `max` due deliveries for `workerId`, honouring every lane's limits. */
  async claim(workerId: string, max: number): Promise<ClaimedDelivery[]> {
    if (max <= 0) return [];
    const now = this.clock();
    // A lease lost in a power cut is claimed again: the commit need not wait for the disk.
    return inWriteTransaction(
      this.store,
      async (trx) => {
        const lanes = await this.backend.lockDueLanes(trx, now, max);
        if (lanes.length === 0) return [];
        const stale = lanes.filter((lane) => lane.limits_version !== lane.integration_version);
        if (stale.length > 0) {
          const limits = await readLimits(
            trx,
            stale.map((lane) => lane.integration_id),
          );
          for (const lane of stale) {
            const found = limits.get(lane.integration_id);
            if (found === undefined) continue;
            const patch = applyLimits(limitsOf(found.options, this.settings), found.version, now);
            Object.assign(lane, patch);
            await updateLane(trx, lane.integration_id, patch);
          }
        }
        const leased = await countLeased(
          trx,
          lanes.map((lane) => lane.integration_id),
          now,
        );
        const share = Math.max(1, Math.ceil(max / lanes.length));
        let left = max;
        const plans = lanes.map((lane) => {
          const want = Math.min(share, left);
          const plan = planLane(lane, leased.get(lane.integration_id) ?? 0, want, now);
          left -= plan.take;
          return { lane, plan, want };
        });
        const rows = await this.backend.claimFromLanes(
          trx,
          plans.filter(({ plan }) => plan.take > 0).map(({ plan }) => plan),
          workerId,
          now,
        );
        const took = new Map<string, number>();
        for (const row of rows)
          took.set(row.integration_id, (took.get(row.integration_id) ?? 0) + 1);
        for (const { lane, plan, want } of plans) {
          // A lane this claim had no room left for keeps its turn.
          if (want === 0) continue;
          const count = took.get(lane.integration_id) ?? 0;
          // Fewer due rows than allowed: the lane ran dry, so find when it is next due (unless
          // deliveries are being stored for it right now: then it stays due).
          const earliest =
            count < plan.take && (await this.backend.mayRaiseDueMark(trx, lane.integration_id))
              ? await earliestDue(trx, lane.integration_id)
              : undefined;
          const inFlight = leased.get(lane.integration_id) ?? 0;
          await updateLane(
            trx,
            lane.integration_id,
            laneAfterClaim(lane, plan, count, inFlight, earliest, now),
          );
        }
        return rows.map(toClaimed);
      },
      { durable: false },
    );
  }

  /** Records the attempt and moves the delivery on as `attempt.decision` says, in one transaction. */
  async complete(claim: ClaimedDelivery, attempt: CompletedAttempt): Promise<CompleteResult> {
    const [result] = await this.completeMany([{ claim, attempt }]);
    return result!;
  }

  /**
   * `complete()` for several attempts in one write transaction: a worker that finishes many
   * deliveries at once pays for one commit, not one each.
   */
  async completeMany(
    items: readonly { claim: ClaimedDelivery; attempt: CompletedAttempt }[],
  ): Promise<CompleteResult[]> {
    if (items.length === 0) return [];
    const now = this.clock();
    // An outcome lost in a power cut means a delivery sent again (at least once), never one lost:
    // the commit need not wait for the disk.
    return inWriteTransaction(
      this.store,
      async (trx) => {
        const results = new Map<ClaimedDelivery, CompleteResult>();
        // One lock order for every worker: delivery rows first (by integration, then id), lane
        // rows last (by integration, `laneOrder`), so two workers completing batches over the same
        // lanes, or a completion and a cancel, cannot wait for each other's rows.
        const ordered = [...items].sort(
          (a, b) =>
            laneOrder(a.claim.integrationId, b.claim.integrationId) ||
            laneOrder(a.claim.id, b.claim.id),
        );
        // The common case, successes of one worker, goes set-based: a few statements per batch
        // rather than five per delivery. Everything else takes the one-by-one path.
        const fast = ordered.filter(
          ({ claim, attempt }) =>
            attempt.decision.kind === 'succeeded' &&
            attempt.health === 'up' &&
            claim.leaseOwner === items[0]!.claim.leaseOwner,
        );
        const batched = new Set(fast.length > 1 ? fast.map(({ claim }) => claim) : []);
        // Lanes with a delivery due again (a retry, a successor released): the earliest time each.
        const due = new Map<string, number>();
        const noteLater = (integrationId: string, at: number) =>
          due.set(integrationId, Math.min(due.get(integrationId) ?? at, at));
        if (batched.size > 0) {
          for (const claim of await this.completeSucceeded(trx, fast, now, results)) {
            if (await releaseSuccessor(trx, claim.integrationId, claim.orderingKey, now))
              noteLater(claim.integrationId, now);
          }
        }
        for (const { claim, attempt } of ordered) {
          if (!batched.has(claim))
            results.set(claim, await this.storeOutcome(trx, claim, attempt, now, noteLater));
        }
        // Lanes already marked healthy in this batch (and not failed since): no need to again.
        const up = new Set<string>();
        for (const group of byIntegration(ordered)) {
          const integrationId = group[0]!.claim.integrationId;
          // Each lane's writes together, lanes in order: one pass, or two workers could each hold
          // a lane the other's second pass wants.
          const at = due.get(integrationId);
          if (at !== undefined) await noteDue(trx, new Map([[integrationId, at]]), now);
          if (group.some(({ claim }) => batched.has(claim))) {
            await markLaneUp(trx, integrationId, now);
            up.add(integrationId);
          }
          for (const { claim, attempt } of group) {
            if (!batched.has(claim))
              await this.noteHealth(trx, claim, attempt.health, now, up, results.get(claim)!);
          }
        }
        return items.map(({ claim }) => results.get(claim)!);
      },
      { durable: false },
    );
  }

  /**
   * Stores a batch of one worker's successes set-based: the deliveries and their attempts, and
   * each one's result. Answers the claims whose ordering key has a successor waiting, for the
   * caller to release.
   */
  private async completeSucceeded(
    trx: Kysely<Database>,
    items: readonly { claim: ClaimedDelivery; attempt: CompletedAttempt }[],
    now: number,
    results: Map<ClaimedDelivery, CompleteResult>,
  ): Promise<ClaimedDelivery[]> {
    const applied = await finishSucceeded(
      trx,
      items[0]!.claim.leaseOwner,
      items.map(({ claim, attempt }) => ({
        id: claim.id,
        attempt: claim.attempt,
        lastStatus: attempt.lastStatus,
      })),
      now,
    );
    await insertAttempts(
      trx,
      items.map(({ claim, attempt }) => ({
        ...attempt.record,
        deliveryId: claim.id,
        attempt: claim.attempt,
        outcome: 'succeeded',
      })),
    );
    for (const { claim } of items) results.set(claim, { applied: applied.has(claim.id) });
    const keyed = items
      .map(({ claim }) => claim)
      .filter((claim) => applied.has(claim.id) && claim.orderingKey !== null);
    const pending = await keysWithPending(
      trx,
      keyed.map((claim) => ({
        integrationId: claim.integrationId,
        orderingKey: claim.orderingKey!,
      })),
    );
    return keyed.filter((claim) => pending.has(laneKey(claim.integrationId, claim.orderingKey!)));
  }

  /**
   * Moves one delivery on as its decision says and logs the attempt: delivery rows only. A lane
   * with a delivery due again is passed to `noteLater`; lane writes come after every delivery's.
   */
  private async storeOutcome(
    trx: Kysely<Database>,
    claim: ClaimedDelivery,
    attempt: CompletedAttempt,
    now: number,
    noteLater: (integrationId: string, at: number) => void,
  ): Promise<CompleteResult> {
    const fields = { error: attempt.error, lastStatus: attempt.lastStatus, now };
    const decision = attempt.decision;
    let applied: boolean;
    if (decision.kind === 'retry') {
      const at = Math.max(decision.at, now);
      applied = await scheduleRetry(trx, claim, at, fields);
      if (applied) noteLater(claim.integrationId, at);
    } else {
      const status = decision.kind === 'succeeded' ? 'succeeded' : 'failed';
      applied = await finishDelivery(trx, claim, status, fields);
      if (applied && (await releaseSuccessor(trx, claim.integrationId, claim.orderingKey, now)))
        noteLater(claim.integrationId, now);
    }
    await insertAttempt(trx, claim.id, {
      ...attempt.record,
      attempt: claim.attempt,
      outcome: decision.kind,
    });
    return { applied };
  }

  /** What an attempt says about the remote, written to its lane (the circuit, holds, streak). */
  private async noteHealth(
    trx: Kysely<Database>,
    claim: ClaimedDelivery,
    health: CompletedAttempt['health'],
    now: number,
    up: Set<string>,
    result: CompleteResult,
  ): Promise<void> {
    if (health === 'up') {
      if (!up.has(claim.integrationId)) await markLaneUp(trx, claim.integrationId, now);
      up.add(claim.integrationId);
    } else if (health === 'none') await markLaneUntouched(trx, claim.integrationId, now);
    else {
      up.delete(claim.integrationId);
      const lane: LaneRow | undefined = await readLane(
        trx,
        claim.integrationId,
        this.store.backend === 'postgres',
      );
      if (lane !== undefined) {
        const next = laneAfterFailure(lane, now, this.settings);
        await updateLane(trx, claim.integrationId, next.patch);
        if (next.disable !== undefined) {
          await disableIntegration(trx, claim.integrationId, next.disable, now);
          result.disabled = next.disable;
        }
      }
    }
  }

  /** Releases parked deliveries whose earlier ones are no longer pending (see `unparkOrphans`). */
  sweepParked(): Promise<number> {
    const now = this.clock();
    return inWriteTransaction(this.store, (trx) => unparkOrphans(trx, now));
  }

  /** Gives claimed deliveries back unattempted (shutdown before sending): due again now. */
  async release(claims: readonly ClaimedDelivery[]): Promise<void> {
    if (claims.length === 0) return;
    const now = this.clock();
    await inWriteTransaction(this.store, async (trx) => {
      // Delivery rows, then lanes in lane order, as in completeMany.
      const released: ClaimedDelivery[] = [];
      for (const claim of claims) if (await releaseDelivery(trx, claim, now)) released.push(claim);
      const lanes = [...new Set(released.map((claim) => claim.integrationId))].sort(laneOrder);
      for (const id of lanes) {
        await noteDue(trx, new Map([[id, now]]), now);
        await markLaneUntouched(trx, id, now);
      }
    });
  }

  /**
   * The database's plan for leasing from one integration's lane: tests and the benchmark check it
   * walks the partial index rather than the backlog.
   */
  explainClaim(integrationId: string, take = 10): Promise<string> {
    const now = this.clock();
    const plan = { integrationId, take, probe: false, leaseUntil: now + 60_000, tokens: take };
    return this.backend.explainClaim(this.store.db, plan, now);
  }

  /** Pending count, age of the oldest due delivery, open circuits: for `Metrics`. */
  snapshot(): Promise<{ pending: number; oldestPendingAgeSeconds: number; openCircuits: number }> {
    return queueSnapshot(this.store.db, this.clock());
  }

  /** Cancels a pending delivery (`ownerId` undefined: whoever owns it). False when it is not pending. */
  async cancel(id: string, ownerId?: string): Promise<boolean> {
    const now = this.clock();
    return inWriteTransaction(this.store, (trx) => cancelDelivery(trx, id, ownerId, now));
  }

  /** A failed delivery goes back to pending, due now, with a fresh retry budget. */
  async retryNow(id: string, ownerId?: string): Promise<boolean> {
    const now = this.clock();
    const ids = await inWriteTransaction(this.store, (trx) =>
      requeueFailed(trx, { id }, ownerId, now),
    );
    return ids.length === 1;
  }

  /** Every failed delivery of an integration created at or after `since` goes back to pending. */
  async replay(integrationId: string, since: number, ownerId?: string): Promise<number> {
    const now = this.clock();
    const ids = await inWriteTransaction(this.store, (trx) =>
      requeueFailed(trx, { integrationId, since }, ownerId, now),
    );
    return ids.length;
  }
}

/** Runs of consecutive items of one integration (the items come sorted by integration). */
function* byIntegration<T extends { claim: ClaimedDelivery }>(items: readonly T[]): Generator<T[]> {
  let group: T[] = [];
  for (const item of items) {
    if (group.length > 0 && group[0]!.claim.integrationId !== item.claim.integrationId) {
      yield group;
      group = [];
    }
    group.push(item);
  }
  if (group.length > 0) yield group;
}
