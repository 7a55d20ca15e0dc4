import { sql, type Kysely } from 'kysely';
import type { Migration } from './index.js';

/** The core tables of SPEC §1. Types are portable; see `store/schema.ts`. */
export const migration0001Core: Migration = {
  name: '0001-core',
  async up(db: Kysely<unknown>, backend) {
    const ms = 'bigint' as const;
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text')
      .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('updated_at', ms, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('roles')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('created_at', ms, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('user_permissions')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('permission', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('user_permissions_pk', ['user_id', 'permission'])
      .execute();

    await db.schema
      .createTable('role_permissions')
      .addColumn('role_id', 'text', (c) => c.notNull().references('roles.id').onDelete('cascade'))
      .addColumn('permission', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('role_permissions_pk', ['role_id', 'permission'])
      .execute();

    await db.schema
      .createTable('user_roles')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('role_id', 'text', (c) => c.notNull().references('roles.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('user_roles_pk', ['user_id', 'role_id'])
      .execute();
    await db.schema.createIndex('user_roles_role').on('user_roles').column('role_id').execute();

    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('key_hash', 'text', (c) => c.notNull().unique())
      .addColumn('prefix', 'text', (c) => c.notNull())
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('last_used_at', ms)
      .addColumn('revoked_at', ms)
      .execute();
    await db.schema.createIndex('api_keys_user').on('api_keys').column('user_id').execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('expires_at', ms, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

    await db.schema
      .createTable('integrations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('disabled_reason', 'text')
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('updated_at', ms, (c) => c.notNull())
      .addColumn('deleted_at', ms)
      .execute();
    await db.schema
      .createIndex('integrations_owner')
      .on('integrations')
      .columns(['owner_id', 'id'])
      .execute();

    await db.schema
      .createTable('integration_versions')
      .addColumn('integration_id', 'text', (c) =>
        c.notNull().references('integrations.id').onDelete('cascade'),
      )
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('options', 'text', (c) => c.notNull())
      .addColumn('created_at', ms, (c) => c.notNull())
      .addPrimaryKeyConstraint('integration_versions_pk', ['integration_id', 'version'])
      .execute();

    await db.schema
      .createTable('contact_lists')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', ms, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('contacts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('list_id', 'text', (c) =>
        c.notNull().references('contact_lists.id').onDelete('cascade'),
      )
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('external_id', 'text')
      .addColumn('phone', 'text', (c) => c.notNull())
      .addColumn('first_name', 'text')
      .addColumn('last_name', 'text')
      .addColumn('email', 'text')
      .addColumn('address', 'text')
      .addColumn('description', 'text')
      .addColumn('custom', 'text', (c) => c.notNull().defaultTo('{}'))
      .execute();
    await db.schema
      .createIndex('contacts_list')
      .on('contacts')
      .columns(['list_id', 'position'])
      .execute();

    await db.schema
      .createTable('campaigns')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('contact_list_id', 'text', (c) => c.references('contact_lists.id'))
      .addColumn('integration_id', 'text', (c) => c.references('integrations.id'))
      .addColumn('rate_per_second', 'real')
      .addColumn('state', 'text', (c) => c.notNull().defaultTo('idle'))
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('updated_at', ms, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('bindings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('campaign_id', 'text', (c) =>
        c.notNull().references('campaigns.id').onDelete('cascade'),
      )
      .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id'))
      .addColumn('on_events', 'text', (c) => c.notNull())
      .addColumn('statuses', 'text')
      .addColumn('position', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('bindings_campaign').on('bindings').column('campaign_id').execute();

    await db.schema
      .createTable('events')
      .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('campaign_id', 'text', (c) => c.notNull())
      .addColumn('call_id', 'text')
      .addColumn('occurred_at', ms, (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('received_at', ms, (c) => c.notNull())
      .addPrimaryKeyConstraint('events_pk', ['owner_id', 'id'])
      .execute();
    await db.schema.createIndex('events_received').on('events').column('received_at').execute();

    await db.schema
      .createTable('deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('owner_id', 'text', (c) => c.notNull())
      .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text')
      .addColumn('campaign_id', 'text')
      .addColumn('contact_id', 'text')
      .addColumn('ordering_key', 'text')
      .addColumn('sequence', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', ms, (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', ms)
      .addColumn('last_error', 'text')
      .addColumn('last_status', 'integer')
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('updated_at', ms, (c) => c.notNull())
      .addColumn('completed_at', ms)
      .execute();
    // The claim path: only pending rows are indexed, so claim cost does not grow with history.
    await db.schema
      .createIndex('deliveries_claim')
      .on('deliveries')
      .columns(['next_attempt_at'])
      .where(sql.ref('status'), '=', 'pending')
      .execute();
    await db.schema
      .createIndex('deliveries_integration')
      .on('deliveries')
      .columns(['integration_id', 'status', 'created_at'])
      .execute();
    await db.schema
      .createIndex('deliveries_owner')
      .on('deliveries')
      .columns(['owner_id', 'id'])
      .execute();

    await db.schema
      .createTable('attempts')
      .addColumn('id', backend === 'postgres' ? 'bigserial' : 'integer', (c) =>
        backend === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn('delivery_id', 'text', (c) =>
        c.notNull().references('deliveries.id').onDelete('cascade'),
      )
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('integration_version', 'integer', (c) => c.notNull())
      .addColumn('started_at', ms, (c) => c.notNull())
      .addColumn('duration_ms', 'real', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('request', 'text', (c) => c.notNull())
      .addColumn('response', 'text')
      .addColumn('error', 'text')
      .execute();
    await db.schema
      .createIndex('attempts_delivery')
      .on('attempts')
      .columns(['delivery_id', 'attempt'])
      .execute();
    await db.schema.createIndex('attempts_started').on('attempts').column('started_at').execute();
  },
};
