/**
 * The delivery queue over the store: enqueue inside the ingest transaction, claim with leases
 * under every lane's limits, complete (the attempt row and the delivery's next state in one
 * transaction), release, cancel, retry now (a replay of an integration is a job of its own,
 * replay-runner.ts). docs/delivery.md tells the whole story.
 */
import type { Kysely } from 'kysely';
import type { Store } from '../store/db.js';
import type { Database } from '../store/schema.js';
import {
  enqueueDeliveries,
  releaseDelivery,
  releaseSuccessor,
  toClaimed,
  type ClaimedDelivery,
  type DeliveryInput,
} from '../store/delivery-store.js';
import {
  cancelDelivery,
  eventKept,
  integrationDeleted,
  requeueFailed,
} from '../store/delivery-actions.js';
import { inWriteTransaction } from '../store/write-transaction.js';
import { cancelOfDeleted, unparkOrphans } from '../store/delivery-batch-store.js';
import {
  countLeased,
  earliestDue,
  laneOrder,
  markLaneUntouched,
  noteDue,
  readLimits,
  updateLane,
} from '../store/lane-store.js';
import { queueSnapshot, type QueueFigures } from '../store/queue-snapshot.js';
import type { ClaimBackend } from './claim-backend.js';
import {
  completeBatch,
  endLateCancelled,
  type CompleteResult,
  type Completed,
  type CompletedAttempt,
} from './completion.js';
import {
  DEFAULT_LANE_SETTINGS,
  applyLimits,
  laneAfterClaim,
  limitsOf,
  planLane,
  type LaneSettings,
} from './lanes.js';
import { postgresClaim } from './postgres-claim.js';
import { sqliteClaim } from './sqlite-claim.js';

export type { CompleteResult, CompletedAttempt } from './completion.js';

export interface QueueOptions {
  /** Milliseconds since the epoch; tests inject a fake clock. */
  clock?: () => number;
  lanes?: Partial<LaneSettings>;
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
            const next = limitsOf(found.options, this.settings);
            const patch = applyLimits(lane, next, found.version, found.savedAt, now);
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
          const out = leased.get(lane.integration_id)?.count ?? 0;
          const plan = planLane(lane, out, want, now);
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
          const inFlight = leased.get(lane.integration_id) ?? { count: 0, until: 0 };
          await updateLane(
            trx,
            lane.integration_id,
            laneAfterClaim(lane, plan, count, inFlight, earliest, now),
          );
        }
        const versions = new Map(
          lanes.map((lane) => [lane.integration_id, Number(lane.integration_version)]),
        );
        return rows.map((row) => toClaimed(row, versions.get(row.integration_id) ?? 0));
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
  completeMany(items: readonly Completed[]): Promise<CompleteResult[]> {
    if (items.length === 0) return Promise.resolve([]);
    const now = this.clock();
    const context = { settings: this.settings, lockLanes: this.store.backend === 'postgres' };
    // An outcome lost in a power cut means a delivery sent again (at least once), never one lost:
    // the commit need not wait for the disk.
    return inWriteTransaction(this.store, (trx) => completeBatch(trx, items, now, context), {
      durable: false,
    });
  }

  /** Releases parked deliveries whose earlier ones are no longer pending (see `unparkOrphans`). */
  sweepParked(): Promise<number> {
    const now = this.clock();
    return inWriteTransaction(this.store, (trx) => unparkOrphans(trx, now));
  }

  /**
   * Cancels pending deliveries of deleted integrations, a bounded batch (see `cancelOfDeleted`):
   * those an ingest stored as their integration's delete committed. Answers how many.
   */
  sweepDeleted(): Promise<number> {
    const now = this.clock();
    return inWriteTransaction(this.store, (trx) => cancelOfDeleted(trx, now));
  }

  /** Gives claimed deliveries back unattempted (shutdown before sending): due again now. */
  async release(claims: readonly ClaimedDelivery[]): Promise<void> {
    if (claims.length === 0) return;
    const now = this.clock();
    await inWriteTransaction(this.store, async (trx) => {
      // Delivery rows, then lanes in lane order, as in completeMany.
      const released: ClaimedDelivery[] = [];
      const due = new Set<string>();
      for (const claim of claims) {
        if (await releaseDelivery(trx, claim, now)) {
          released.push(claim);
          due.add(claim.integrationId);
          // One of its call retried while this one was out goes first (see `complete`).
          await releaseSuccessor(trx, claim.integrationId, claim.orderingKey, now);
        } else {
          // Cancelled while claimed: its lease ends here, and the next one of its call may go.
          await endLateCancelled(trx, claim, now, (id) => due.add(id));
        }
      }
      const untouched = new Set(released.map((claim) => claim.integrationId));
      // Each lane's writes together, lanes in order (one pass).
      for (const id of [...due].sort(laneOrder)) {
        await noteDue(trx, new Map([[id, now]]), now);
        if (untouched.has(id)) await markLaneUntouched(trx, id, now);
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

  /** Pending and held counts, age of the oldest due delivery, open circuits: for `Metrics`. */
  snapshot(): Promise<QueueFigures> {
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

  /** Why `retryNow` moved nothing, for a delivery that exists (the API's 409, the CLI's error). */
  whyNotRetried(delivery: RetriedDelivery): Promise<string> {
    return whyNotRetried(this.store, delivery);
  }
}

/** A delivery as `whyNotRetried` needs it. */
export interface RetriedDelivery {
  id: string;
  ownerId: string;
  integrationId: string;
  kind: string;
  status: string;
  eventId: string | null;
}

/** Why `retryNow` moved nothing, for a delivery that exists (the API's 409, the CLI's error). */
export async function whyNotRetried(
  store: Pick<Store, 'db'>,
  delivery: RetriedDelivery,
): Promise<string> {
  if (delivery.kind === 'ivr') {
    return `${delivery.id} is an IVR invocation: it is answered once, while the caller waits, and cannot be retried`;
  }
  if (delivery.status === 'failed') {
    if (
      delivery.kind === 'event' &&
      delivery.eventId !== null &&
      !(await eventKept(store.db, delivery.ownerId, delivery.eventId))
    ) {
      return `delivery ${delivery.id}'s event ${delivery.eventId} is no longer stored (pruned after the retention period): nothing to send`;
    }
    if (await integrationDeleted(store.db, delivery.integrationId)) {
      return `delivery ${delivery.id} belongs to a deleted integration: nothing would send it`;
    }
    // Failed now, but not when the retry ran (another action had it pending then).
    return `delivery ${delivery.id} was not failed when the retry ran (another action moved it meanwhile): ask again`;
  }
  return `delivery ${delivery.id} is ${delivery.status}; only a failed delivery can be retried`;
}
