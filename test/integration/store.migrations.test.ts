import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { DIALECTS, createTestStore, type TestStore } from '../helpers/store.js';
import { migrate } from '../../src/store/migrator.js';
import { migrations } from '../../src/store/migrations/index.js';

describe.each(DIALECTS)('store on %s', (backend) => {
  let t: TestStore | undefined;
  afterEach(async () => {
    await t?.destroy();
    t = undefined;
  });

  it('applies every migration once; a second run applies none', async () => {
    t = await createTestStore(backend, { migrate: false });
    const first = await migrate(t.store);
    expect(first.applied).toEqual(migrations.map((m) => m.name));
    const second = await migrate(t.store);
    expect(second.applied).toEqual([]);
    const rows = await t.store.db.selectFrom('callhook_migrations').select('name').execute();
    expect(rows.map((r) => r.name)).toEqual(migrations.map((m) => m.name));
  });

  it('runs concurrent migrations safely (one applies, the other finds them applied)', async () => {
    t = await createTestStore(backend, { migrate: false });
    const [a, b] = await Promise.all([migrate(t.store), migrate(t.store)]);
    expect([...a.applied, ...b.applied].sort()).toEqual(migrations.map((m) => m.name).sort());
  });

  it('rolls a failing migration back whole: no table, no bookkeeping row', async () => {
    t = await createTestStore(backend);
    const broken = {
      name: '9999-broken',
      async up(db: import('kysely').Kysely<unknown>) {
        await db.schema.createTable('half_done').addColumn('id', 'text').execute();
        await sql`select * from table_that_does_not_exist`.execute(db);
      },
    };
    await expect(migrate(t.store, { migrations: [...migrations, broken] })).rejects.toThrow();
    const applied = await t.store.db.selectFrom('callhook_migrations').select('name').execute();
    expect(applied.map((r) => r.name)).not.toContain('9999-broken');
    await expect(sql`select * from half_done`.execute(t.store.db)).rejects.toThrow();
  });

  it('refuses a database a newer version migrated', async () => {
    t = await createTestStore(backend);
    await t.store.db
      .insertInto('callhook_migrations')
      .values({ name: '9999-from-the-future', applied_at: 1 })
      .execute();
    // A version one migration behind: that one and the future one are both unknown to it.
    const latest = migrations[migrations.length - 1]!.name;
    await expect(migrate(t.store, { migrations: migrations.slice(0, -1) })).rejects.toThrow(
      `was migrated by a newer Callhook (migrations ${latest}, 9999-from-the-future, which this version does not know): run that version or a later one`,
    );
    await expect(migrate(t.store)).rejects.toThrow('(migration 9999-from-the-future, which');
  });

  it('stops between migrations when aborted', async () => {
    t = await createTestStore(backend, { migrate: false });
    const abort = new AbortController();
    abort.abort();
    const result = await migrate(t.store, { signal: abort.signal });
    expect(result).toEqual({ applied: [], aborted: true });
  });

  it('round-trips the core rows with portable types', async () => {
    t = await createTestStore(backend);
    const { db } = t.store;
    const now = Date.now();
    await db
      .insertInto('users')
      .values({
        id: 'u1',
        email: 'a@example.com',
        name: 'A',
        password_hash: null,
        admin: 1,
        disabled: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await db
      .insertInto('integrations')
      .values({
        id: 'i1',
        owner_id: 'u1',
        name: 'CRM',
        description: '',
        type: 'http',
        enabled: 1,
        version: 1,
        disabled_reason: null,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      })
      .execute();
    await db
      .insertInto('integration_versions')
      .values({
        integration_id: 'i1',
        version: 1,
        config: '{"url":"http://x"}',
        options: '{}',
        created_at: now,
      })
      .execute();
    await db
      .insertInto('deliveries')
      .values({
        id: 'd1',
        owner_id: 'u1',
        integration_id: 'i1',
        kind: 'event',
        event_id: 'e1',
        campaign_id: 'c1',
        contact_id: null,
        ordering_key: 'c-9',
        sequence: 1,
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        lease_owner: null,
        lease_until: null,
        last_error: null,
        last_status: null,
        created_at: now,
        updated_at: now,
        completed_at: null,
      })
      .execute();
    const attempt = await db
      .insertInto('attempts')
      .values({
        delivery_id: 'd1',
        attempt: 1,
        integration_version: 1,
        started_at: now,
        duration_ms: 1.5,
        outcome: 'succeeded',
        request: '{}',
        response: null,
        error: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(typeof attempt.id).toBe('number');

    const user = await db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', 'u1')
      .executeTakeFirstOrThrow();
    expect(user.created_at).toBe(now);
    expect(typeof user.created_at).toBe('number');
    const delivery = await db.selectFrom('deliveries').selectAll().executeTakeFirstOrThrow();
    expect(delivery.next_attempt_at).toBe(now);

    const duplicate = db
      .insertInto('users')
      .values({
        id: 'u2',
        email: 'a@example.com',
        name: 'B',
        password_hash: null,
        admin: 0,
        disabled: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const error = await duplicate.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(t.store.isUniqueViolation(error)).toBe(true);
  });

  it('answers ping, and fails it once closed', async () => {
    t = await createTestStore(backend);
    await expect(t.store.ping()).resolves.toBeUndefined();
  });
});
