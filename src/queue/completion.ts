/**
 * Completing claimed deliveries: each attempt's row, each delivery's next state (succeeded, retry,
 * failed) and what the attempts say about each lane, in one write transaction per batch. The lock
 * order here is what keeps workers, cancels and ingest from deadlocking: docs/delivery.md.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { endCancelledLease } from '../store/delivery-actions.js';
import {
  finishDelivery,
  insertAttempt,
  releaseSuccessor,
  scheduleRetry,
  type AttemptInput,
  type ClaimedDelivery,
} from '../store/delivery-store.js';
import { finishSucceeded, insertAttempts, keysWithPending } from '../store/delivery-batch-store.js';
import { laneKey } from '../store/lane-keys.js';
import {
  disableIntegration,
  isEnabled,
  laneOrder,
  markLaneUntouched,
  markLaneUp,
  noteDue,
  readLane,
  updateLane,
} from '../store/lane-store.js';
import type { Decision } from '../delivery/retry-policy.js';
import { laneAfterFailure, type LaneSettings } from './lanes.js';

/** What an attempt came to, for `DeliveryQueue.complete()`. */
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

export interface Completed {
  claim: ClaimedDelivery;
  attempt: CompletedAttempt;
}

/** How the lanes judge failures, and whether lane reads must lock the row (PostgreSQL). */
export interface CompletionContext {
  settings: LaneSettings;
  lockLanes: boolean;
}

/**
 * Stores a batch of completed attempts inside `trx`; one result per item, in the items' order.
 *
 * Delivery rows first (by integration, then id), lane rows last (one pass over the lanes in
 * `laneOrder`), for every worker alike: two workers completing batches over the same lanes, or a
 * completion and a cancel, then never each hold a row the other waits for.
 */
export async function completeBatch(
  trx: Kysely<Database>,
  items: readonly Completed[],
  now: number,
  context: CompletionContext,
): Promise<CompleteResult[]> {
  const seen = new Set<string>();
  for (const { claim } of items) {
    if (seen.has(claim.id)) throw new Error(`delivery ${claim.id} is completed twice in one batch`);
    seen.add(claim.id);
  }
  const results = new Map<ClaimedDelivery, CompleteResult>();
  const ordered = [...items].sort(
    (a, b) =>
      laneOrder(a.claim.integrationId, b.claim.integrationId) || laneOrder(a.claim.id, b.claim.id),
  );
  // The common case, successes of one worker, goes set-based: a few statements per batch rather
  // than five per delivery. Everything else takes the one-by-one path.
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
    for (const claim of await completeSucceeded(trx, fast, now, results)) {
      if (await releaseSuccessor(trx, claim.integrationId, claim.orderingKey, now))
        noteLater(claim.integrationId, now);
    }
    for (const { claim, attempt } of fast) {
      if (!results.get(claim)!.applied) await endLateCancelled(trx, claim, now, noteLater, attempt);
    }
  }
  for (const { claim, attempt } of ordered) {
    if (!batched.has(claim))
      results.set(claim, await storeOutcome(trx, claim, attempt, now, noteLater));
  }
  // Lanes already marked healthy in this batch (and not failed since): no need to again.
  const up = new Set<string>();
  for (const group of byIntegration(ordered)) {
    const integrationId = group[0]!.claim.integrationId;
    // Each lane's writes together, lanes in order: one pass, or two workers could each hold a
    // lane the other's second pass wants.
    const at = due.get(integrationId);
    if (at !== undefined) await noteDue(trx, new Map([[integrationId, at]]), now);
    if (group.some(({ claim }) => batched.has(claim))) {
      await markLaneUp(trx, integrationId, now);
      up.add(integrationId);
    }
    for (const { claim, attempt } of group) {
      if (!batched.has(claim))
        await noteHealth(trx, claim, attempt.health, now, up, results.get(claim)!, context);
    }
  }
  return items.map(({ claim }) => results.get(claim)!);
}

/**
 * Stores a batch of one worker's successes set-based: the deliveries and their attempts, and each
 * one's result. Answers the claims whose ordering key has a successor waiting, for the caller to
 * release.
 */
async function completeSucceeded(
  trx: Kysely<Database>,
  items: readonly Completed[],
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
    keyed.map((claim) => ({ integrationId: claim.integrationId, orderingKey: claim.orderingKey! })),
  );
  return keyed.filter((claim) => pending.has(laneKey(claim.integrationId, claim.orderingKey!)));
}

/**
 * Moves one delivery on as its decision says and logs the attempt: delivery rows only. A lane with
 * a delivery due again is passed to `noteLater`; lane writes come after every delivery's.
 */
async function storeOutcome(
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
    if (applied) {
      noteLater(claim.integrationId, at);
      // One of its call retried or replayed while this one was out, parked until now: it is
      // earlier in the call, so it goes before this one's next attempt.
      if (await releaseSuccessor(trx, claim.integrationId, claim.orderingKey, now))
        noteLater(claim.integrationId, now);
    }
  } else {
    const status = decision.kind === 'succeeded' ? 'succeeded' : 'failed';
    applied = await finishDelivery(trx, claim, status, fields);
    if (applied && (await releaseSuccessor(trx, claim.integrationId, claim.orderingKey, now)))
      noteLater(claim.integrationId, now);
  }
  if (!applied) await endLateCancelled(trx, claim, now, noteLater, attempt);
  await insertAttempt(trx, claim.id, {
    ...attempt.record,
    attempt: claim.attempt,
    outcome: decision.kind,
  });
  return { applied };
}

/**
 * A completion that found its delivery cancelled while it was out: the delivery's lease ends (its
 * concurrency slot is free), it keeps the attempt's answer (`lastStatus`, `error`; none when it
 * was given back unsent) and the next delivery of its call may go. Delivery rows only.
 */
export async function endLateCancelled(
  trx: Kysely<Database>,
  claim: ClaimedDelivery,
  now: number,
  noteLater: (integrationId: string, at: number) => void,
  answer?: { lastStatus: number | null; error: string | null },
): Promise<void> {
  if (
    (await endCancelledLease(trx, claim, now, answer)) &&
    (await releaseSuccessor(trx, claim.integrationId, claim.orderingKey, now))
  )
    noteLater(claim.integrationId, now);
}

/** What an attempt says about the remote, written to its lane (the circuit, holds, streak). */
async function noteHealth(
  trx: Kysely<Database>,
  claim: ClaimedDelivery,
  health: CompletedAttempt['health'],
  now: number,
  up: Set<string>,
  result: CompleteResult,
  context: CompletionContext,
): Promise<void> {
  if (health === 'up') {
    if (!up.has(claim.integrationId)) await markLaneUp(trx, claim.integrationId, now);
    up.add(claim.integrationId);
  } else if (health === 'none') await markLaneUntouched(trx, claim.integrationId, now);
  else {
    up.delete(claim.integrationId);
    const lane = await readLane(trx, claim.integrationId, context.lockLanes);
    // An integration already disabled (by an earlier failure of this streak, or its owner) is
    // judged afresh when enabled again: the failures of what was still in flight then do not
    // count, re-open its circuit or disable it again with a new reason.
    if (lane !== undefined && (await isEnabled(trx, claim.integrationId))) {
      const next = laneAfterFailure(lane, now, context.settings);
      await updateLane(trx, claim.integrationId, next.patch);
      if (next.disable !== undefined) {
        await disableIntegration(trx, claim.integrationId, next.disable, now);
        result.disabled = next.disable;
      }
    }
  }
}

/** Runs of consecutive items of one integration (the items come sorted by integration). */
function* byIntegration<T extends Completed>(items: readonly T[]): Generator<T[]> {
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
