import { sql, type Kysely } from 'kysely';
import type { Migration } from './index.js';

/**
 * The delivery engine (docs/delivery.md): one lane row per integration holding the state its
 * limits need across worker processes (rate bucket, circuit, holds), and the indexes that keep
 * claiming independent of the backlog.
 */
export const migration0002DeliveryLanes: Migration = {
  name: '0002-delivery-lanes',
  async up(db: Kysely<unknown>, backend) {
    const ms = 'bigint' as const;
    const float = backend === 'postgres' ? ('double precision' as const) : ('real' as const);

    // A replay or a manual retry starts a fresh retry budget: attempts - attempt_offset.
    await db.schema
      .alterTable('deliveries')
      .addColumn('attempt_offset', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();

    // The claim path, per lane: pending rows of one integration by due time.
    await db.schema
      .createIndex('deliveries_lane')
      .on('deliveries')
      .columns(['integration_id', 'next_attempt_at'])
      .where(sql.ref('status'), '=', 'pending')
      .execute();
    // Per-call ordering: the earlier pending delivery of the same integration and key.
    await db.schema
      .createIndex('deliveries_ordering')
      .on('deliveries')
      .columns(['integration_id', 'ordering_key', 'sequence'])
      .where(sql<boolean>`status = 'pending' and ordering_key is not null`)
      .execute();
    // Concurrency: the deliveries of an integration under a lease right now.
    await db.schema
      .createIndex('deliveries_leased')
      .on('deliveries')
      .columns(['integration_id', 'lease_until'])
      .where(sql<boolean>`status = 'pending' and lease_owner is not null`)
      .execute();

    await db.schema
      .createTable('delivery_lanes')
      .addColumn('integration_id', 'text', (c) =>
        c.primaryKey().references('integrations.id').onDelete('cascade'),
      )
      .addColumn('next_due_at', ms, (c) => c.notNull())
      .addColumn('hold_until', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('hold_reason', 'text')
      .addColumn('served_at', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('limits_version', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_concurrency', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rate_per_second', float)
      .addColumn('lease_ms', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('tokens', float, (c) => c.notNull().defaultTo(0))
      .addColumn('refilled_at', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('circuit', 'text', (c) => c.notNull().defaultTo('closed'))
      .addColumn('circuit_until', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failing_since', ms)
      .addColumn('updated_at', ms, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('delivery_lanes_due')
      .on('delivery_lanes')
      .columns(['next_due_at'])
      .execute();
  },
};
