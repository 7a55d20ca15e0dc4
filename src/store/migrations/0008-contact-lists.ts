import { sql, type Kysely } from 'kysely';
import type { Migration } from './index.js';

/**
 * Contact lists take imports (docs/campaigns.md): `contact_lists.size` is the count of its
 * contacts and the position the next one takes, kept under the list row's lock; a contact's id
 * (`external_id`: the one imported, or a generated one) is unique in its list
 * (`contacts_list_external`), which is also how an integration campaign's delivery finds it.
 */
export const migration0008ContactLists: Migration = {
  name: '0008-contact-lists',
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('contact_lists')
      .addColumn('size', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await sql`update contacts set external_id = id where external_id is null`.execute(db);
    await db.schema
      .createIndex('contacts_list_external')
      .on('contacts')
      .columns(['list_id', 'external_id'])
      .unique()
      .execute();
  },
};
