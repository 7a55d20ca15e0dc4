import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkInsert } from '../../src/store/bulk-insert.js';
import { EVENT_COLUMNS } from '../../src/store/event-store.js';
import { createTestStore, type TestStore } from '../helpers/store.js';

// The columns of an ingested event (the event store's own list).
const COLUMNS = EVENT_COLUMNS;

describe.each(['sqlite', 'postgres'] as const)('bulk inserts on %s', (backend) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore(backend);
    await t.store.db
      .insertInto('users')
      .values({
        id: 'u1',
        email: 'u1@example.com',
        name: 'u1',
        password_hash: 'x',
        admin: 0,
        disabled: 0,
        created_at: 0,
        updated_at: 0,
      })
      .execute();
  });
  afterAll(async () => t.destroy());

  const row = (id: string, extra: Record<string, unknown> = {}) => ({
    owner_id: 'u1',
    id,
    type: 'call.ended',
    campaign_id: 'c',
    occurred_at: 2 ** 53 - 1,
    payload: '{"a":"\\\\ \\" \'"}',
    received_at: 1,
    ...extra,
  });

  it('stores every value as given: large integers, quotes and backslashes, null and missing', async () => {
    await bulkInsert(t.store.db, 'events', COLUMNS, [
      row('a', { call_id: null }),
      row('b'),
      row('c', { call_id: 'x' }),
    ]);
    const rows = await t.store.db
      .selectFrom('events')
      .select(['id', 'call_id', 'occurred_at', 'payload'])
      .orderBy('id')
      .execute();
    expect(rows).toEqual(
      ['a', 'b', 'c'].map((id) => ({
        id,
        call_id: id === 'c' ? 'x' : null,
        occurred_at: 2 ** 53 - 1,
        payload: '{"a":"\\\\ \\" \'"}',
      })),
    );
  });

  it('runs the tail: a conflicting row is skipped and only stored rows are returned', async () => {
    const returned = await bulkInsert<{ id: string }>(
      t.store.db,
      'events',
      COLUMNS,
      [row('t1'), row('t2'), row('t1', { payload: 'second' })],
      sql`on conflict (owner_id, id) do nothing returning id`,
    );
    expect(returned.map((r) => r.id).sort()).toEqual(['t1', 't2']);
    const stored = await t.store.db
      .selectFrom('events')
      .select('payload')
      .where('id', '=', 't1')
      .executeTakeFirstOrThrow();
    expect(stored.payload).toBe(row('t1').payload);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses %s in a number column, naming row and column, and sends nothing',
    async (value) => {
      await expect(
        bulkInsert(t.store.db, 'events', COLUMNS, [row('ok'), row('bad', { received_at: value })]),
      ).rejects.toThrow(
        `insert into events: row 1, column received_at is ${String(value)}, not a finite number`,
      );
      const stored = await t.store.db
        .selectFrom('events')
        .select('id')
        .where('id', 'in', ['ok', 'bad'])
        .execute();
      expect(stored).toEqual([]);
    },
  );
});
