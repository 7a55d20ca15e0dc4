/** Shared set-up of the queue and delivery tests: an owner, integrations, deliveries, a clock. */
import { uuidv7 } from 'uuidv7';
import type { Backend, Store } from '../../src/store/db.js';
import { AccountStore } from '../../src/store/account-store.js';
import { IntegrationStore } from '../../src/store/integration-store.js';
import type { DeliveryInput } from '../../src/store/delivery-store.js';
import { inWriteTransaction } from '../../src/store/write-transaction.js';
import {
  DeliveryQueue,
  type CompletedAttempt,
  type QueueOptions,
} from '../../src/queue/delivery-queue.js';
import type { IntegrationOptions } from '../../src/domain/integration.js';
import { createTestStore, type TestStore } from '../helpers/store.js';
import { createReplayJob } from '../../src/store/replay-job-store.js';
import { ReplayRunner } from '../../src/queue/replay-runner.js';

export const T0 = Date.parse('2026-11-27T10:00:00Z');

/** A clock tests move by hand. */
export class FakeClock {
  constructor(public ms: number = T0) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A store, a hand-moved clock, a queue on that clock and an owner: most queue tests' set-up. */
export async function clockedQueue(
  backend: Backend,
  options: QueueOptions = {},
): Promise<{ t: TestStore; clock: FakeClock; queue: DeliveryQueue; owner: string }> {
  const t = await createTestStore(backend);
  try {
    const clock = new FakeClock();
    const queue = new DeliveryQueue(t.store, { ...options, clock: clock.now });
    return { t, clock, queue, owner: await seedOwner(t.store) };
  } catch (error) {
    await t.destroy();
    throw error;
  }
}

export async function seedOwner(store: Store): Promise<string> {
  const user = await new AccountStore(store).createUser({
    email: `owner-${uuidv7()}@example.test`,
    name: 'Owner',
    passwordHash: null,
    admin: false,
  });
  return user.id;
}

export async function seedIntegration(
  store: Store,
  ownerId: string,
  options: Partial<IntegrationOptions> = {},
  url = 'http://127.0.0.1:9/hook',
): Promise<string> {
  const integration = await new IntegrationStore(store).create(ownerId, {
    name: `hook-${uuidv7()}`,
    description: '',
    type: 'http',
    enabled: true,
    config: {
      url,
      method: 'POST',
      body: '{}',
      headers: '',
      responseEncoding: 'json',
      maxRedirects: 0,
    },
    options: { timeoutMs: 5_000, retry: { maxAttempts: 8 }, responseVariables: [], ...options },
  });
  return integration.id;
}

/** A fresh store, a queue over it, an owner and one integration of theirs. */
export interface SeededQueue {
  t: TestStore;
  queue: DeliveryQueue;
  owner: string;
  integration: string;
}

/**
 * A fresh store on `backend` with a queue over it (given `options`), an owner and an integration
 * of theirs: the usual start of a queue or worker test. The test destroys `t` when done.
 */
export async function seedQueue(
  backend: Backend,
  options: QueueOptions = {},
): Promise<SeededQueue> {
  const t = await createTestStore(backend);
  try {
    const queue = new DeliveryQueue(t.store, options);
    const owner = await seedOwner(t.store);
    const integration = await seedIntegration(t.store, owner);
    return { t, queue, owner, integration };
  } catch (error) {
    await t.destroy();
    throw error;
  }
}

export function delivery(
  ownerId: string,
  integrationId: string,
  extra: Partial<DeliveryInput> = {},
): DeliveryInput {
  return { id: uuidv7(), ownerId, integrationId, ...extra };
}

/** Enqueues in a transaction of its own, as the ingest route does inside its own. */
export async function enqueue(
  store: Store,
  queue: DeliveryQueue,
  deliveries: readonly DeliveryInput[],
): Promise<void> {
  await inWriteTransaction(store, (trx) => queue.enqueue(trx, deliveries));
}

export async function statusOf(store: Store, id: string) {
  return store.db
    .selectFrom('deliveries')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

export async function attemptsOf(store: Store, id: string) {
  return store.db
    .selectFrom('attempts')
    .selectAll()
    .where('delivery_id', '=', id)
    .orderBy('attempt')
    .execute();
}

/** An attempt log row as completions record it: started `at`, lasting `durationMs`. */
export function attemptRecord(
  at: number,
  error: string | null = null,
  durationMs = 1,
): CompletedAttempt['record'] {
  return { integrationVersion: 1, startedAt: at, durationMs, request: '{}', response: null, error };
}

/**
 * Saves a new version of an integration as an owner's edit does: `options` merged into the
 * current ones (a key set to undefined is removed), `enabled` as given or unchanged; saved at
 * `now()`.
 */
export async function editIntegration(
  store: Store,
  id: string,
  change: {
    options?: { [K in keyof IntegrationOptions]?: IntegrationOptions[K] | undefined };
    enabled?: boolean;
  },
  now: () => number = Date.now,
): Promise<void> {
  const integrations = new IntegrationStore(store, now);
  const current = await integrations.find(id, undefined);
  if (current === undefined) throw new Error(`integration ${id} not found`);
  const options: IntegrationOptions = { ...current.options };
  for (const [key, value] of Object.entries(change.options ?? {})) {
    if (value === undefined) delete options[key as keyof IntegrationOptions];
    else Object.assign(options, { [key]: value });
  }
  await integrations.update(current, {
    ...current,
    enabled: change.enabled ?? current.enabled,
    options,
  });
}

/** An integration's lane row as stored. */
export async function laneOf(store: Store, integrationId: string) {
  return store.db
    .selectFrom('delivery_lanes')
    .selectAll()
    .where('integration_id', '=', integrationId)
    .executeTakeFirstOrThrow();
}

/**
 * Replays an owner's integration's failed deliveries since `since` as the API and the CLI do: a
 * replay job asked at `clock()`, run to its end by a runner, `batchSize` deliveries per
 * transaction. Answers how many it moved back to pending.
 */
export async function replayAsJob(
  store: Store,
  replay: { ownerId: string; integrationId: string; since: number },
  clock: () => number,
  batchSize = 500,
): Promise<number> {
  const job = await createReplayJob(store.db, replay, clock());
  const done = await new ReplayRunner(store, { batchSize, clock }).runOnce({ jobId: job.id });
  if (done?.status !== 'succeeded')
    throw new Error(`replay job ${job.id} did not succeed: ${JSON.stringify(done)}`);
  return done.requeued;
}
