/**
 * Contact lists and their contacts (docs/campaigns.md). A list's contacts keep the order they
 * were imported in (`position`, 0, 1, 2, …): an integration campaign sends them in that order and
 * pages its results by it. An import is all or nothing, in one transaction.
 */
import type { Kysely, Selectable } from 'kysely';
import type { ContactListsTable, ContactsTable, Database } from './schema.js';
import { pageOf } from './account-store.js';
import { isoTime, type Page } from '../domain/accounts.js';
import type { Contact, ContactInput, CustomValue } from '../domain/contact.js';
import { newId } from '../domain/ids.js';
import { bulkInsert, isPostgres, type ColumnType } from './bulk-insert.js';
import { inWriteTransaction, type WriteStore } from './write-transaction.js';
import { CHUNK } from './delivery-store.js';

export interface ContactList {
  id: string;
  ownerId: string;
  name: string;
  /** Contacts in the list. */
  size: number;
  createdAt: string;
}

function toList(row: Selectable<ContactListsTable>): ContactList {
  return {
    id: row.id,
    ownerId: row.owner_id,
    name: row.name,
    size: row.size,
    createdAt: isoTime(Number(row.created_at))!,
  };
}

/** A stored contact as the API and templates read it: fields without a value are left out. */
export function toContact(
  row: Pick<
    Selectable<ContactsTable>,
    | 'id'
    | 'external_id'
    | 'phone'
    | 'first_name'
    | 'last_name'
    | 'email'
    | 'address'
    | 'description'
    | 'custom'
  >,
): Contact {
  const contact: Contact = {
    id: row.external_id ?? row.id,
    phone: row.phone,
    custom: JSON.parse(row.custom) as Record<string, CustomValue>,
  };
  if (row.first_name !== null) contact.firstName = row.first_name;
  if (row.last_name !== null) contact.lastName = row.last_name;
  if (row.email !== null) contact.email = row.email;
  if (row.address !== null) contact.address = row.address;
  if (row.description !== null) contact.description = row.description;
  return contact;
}

const CONTACT_COLUMNS: readonly (readonly [string, ColumnType])[] = [
  ['id', 'text'],
  ['list_id', 'text'],
  ['position', 'integer'],
  ['external_id', 'text'],
  ['phone', 'text'],
  ['first_name', 'text'],
  ['last_name', 'text'],
  ['email', 'text'],
  ['address', 'text'],
  ['description', 'text'],
  ['custom', 'text'],
];

/** An import refused whole: ids already in the list, by the index of the contact that repeats them. */
export interface TakenIds {
  taken: { index: number; id: string }[];
}

/** A key of `findContacts`: a contact by its id in a list. */
export interface ContactKey {
  listId: string;
  id: string;
}

export class ContactStore {
  constructor(
    private readonly store: WriteStore,
    private readonly now: () => number = Date.now,
  ) {}

  private get db(): Kysely<Database> {
    return this.store.db;
  }

  async createList(ownerId: string, name: string): Promise<ContactList> {
    const row = { id: newId(), owner_id: ownerId, name, created_at: this.now(), size: 0 };
    await this.db.insertInto('contact_lists').values(row).execute();
    return toList(row);
  }

  async findList(id: string, ownerId: string | undefined): Promise<ContactList | undefined> {
    let query = this.db.selectFrom('contact_lists').selectAll().where('id', '=', id);
    if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
    const row = await query.executeTakeFirst();
    return row && toList(row);
  }

  async listLists(
    ownerId: string | undefined,
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<ContactList>> {
    let query = this.db
      .selectFrom('contact_lists')
      .selectAll()
      .orderBy('id')
      .limit(page.limit + 1);
    if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
    if (page.cursor !== undefined) query = query.where('id', '>', page.cursor);
    return pageOf((await query.execute()).map(toList), page.limit);
  }

  async renameList(id: string, name: string): Promise<void> {
    await this.db.updateTable('contact_lists').set({ name }).where('id', '=', id).execute();
  }

  /**
   * Deletes a list with its contacts; not one a campaign names (the campaign is answered): its
   * runs' results read the contacts.
   */
  async deleteList(
    id: string,
    ownerId: string | undefined,
  ): Promise<'deleted' | 'not-found' | { campaignId: string }> {
    return inWriteTransaction(this.store, async (trx) => {
      let query = trx.selectFrom('contact_lists').select('id').where('id', '=', id);
      if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
      if ((await query.executeTakeFirst()) === undefined) return 'not-found';
      const user = await trx
        .selectFrom('campaigns')
        .select('id')
        .where('contact_list_id', '=', id)
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      if (user !== undefined) return { campaignId: user.id };
      await trx.deleteFrom('contacts').where('list_id', '=', id).execute();
      await trx.deleteFrom('contact_lists').where('id', '=', id).execute();
      return 'deleted';
    });
  }

  /**
   * Appends contacts to a list, in their order, all or none: a contact whose `id` the list holds
   * already refuses the whole import (`TakenIds`). Contacts without an `id` get a generated one.
   * The caller has checked each contact (`contactProblems`) and that ids do not repeat among them.
   * Answers the list's new size.
   */
  async addContacts(listId: string, contacts: readonly ContactInput[]): Promise<number | TakenIds> {
    return inWriteTransaction(this.store, async (trx) => {
      // The list row is the lock two imports into one list take turns on (positions stay dense).
      const list = await (
        isPostgres(trx)
          ? trx.selectFrom('contact_lists').select('size').where('id', '=', listId).forUpdate()
          : trx.selectFrom('contact_lists').select('size').where('id', '=', listId)
      ).executeTakeFirstOrThrow();
      const taken = await this.takenIds(trx, listId, contacts);
      if (taken.length > 0) return { taken };
      const rows = contacts.map((contact, index) => {
        const id = newId();
        return {
          id,
          list_id: listId,
          position: list.size + index,
          external_id: contact.id ?? id,
          phone: contact.phone,
          first_name: contact.firstName ?? null,
          last_name: contact.lastName ?? null,
          email: contact.email ?? null,
          address: contact.address ?? null,
          description: contact.description ?? null,
          custom: JSON.stringify(contact.custom ?? {}),
        };
      });
      for (let i = 0; i < rows.length; i += CHUNK) {
        await bulkInsert(trx, 'contacts', CONTACT_COLUMNS, rows.slice(i, i + CHUNK));
      }
      const size = list.size + rows.length;
      await trx.updateTable('contact_lists').set({ size }).where('id', '=', listId).execute();
      return size;
    });
  }

  private async takenIds(
    trx: Kysely<Database>,
    listId: string,
    contacts: readonly ContactInput[],
  ): Promise<{ index: number; id: string }[]> {
    const byId = new Map<string, number>();
    contacts.forEach((contact, index) => {
      if (contact.id !== undefined) byId.set(contact.id, index);
    });
    const ids = [...byId.keys()];
    const taken: { index: number; id: string }[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await trx
        .selectFrom('contacts')
        .select('external_id')
        .where('list_id', '=', listId)
        .where('external_id', 'in', ids.slice(i, i + CHUNK))
        .execute();
      for (const row of rows)
        taken.push({ index: byId.get(row.external_id!)!, id: row.external_id! });
    }
    return taken.sort((a, b) => a.index - b.index);
  }

  /** A page of a list's contacts in their order; the cursor is the last position seen. */
  async listContacts(
    listId: string,
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<Contact>> {
    let query = this.db
      .selectFrom('contacts')
      .selectAll()
      .where('list_id', '=', listId)
      .orderBy('position')
      .limit(page.limit + 1);
    const after = positionCursor(page.cursor);
    if (after !== undefined) query = query.where('position', '>', after);
    const rows = await query.execute();
    const items = rows.slice(0, page.limit);
    return {
      items: items.map(toContact),
      nextCursor: rows.length > page.limit ? String(items.at(-1)!.position) : null,
    };
  }

  /** Contacts by list and id, in the order of `keys` (undefined where none), in one query per list. */
  async findContacts(keys: readonly ContactKey[]): Promise<(Contact | undefined)[]> {
    const found = new Map<string, Contact>();
    const byList = new Map<string, string[]>();
    for (const key of keys) byList.set(key.listId, [...(byList.get(key.listId) ?? []), key.id]);
    for (const [listId, ids] of byList) {
      for (let i = 0; i < ids.length; i += CHUNK) {
        const rows = await this.db
          .selectFrom('contacts')
          .selectAll()
          .where('list_id', '=', listId)
          .where('external_id', 'in', ids.slice(i, i + CHUNK))
          .execute();
        for (const row of rows) found.set(`${listId}\u0000${row.external_id}`, toContact(row));
      }
    }
    return keys.map((key) => found.get(`${key.listId}\u0000${key.id}`));
  }
}

/**
 * A position cursor (`nextCursor` of a page of contacts) as a number; undefined when there
 * is none. Anything but a whole number is refused by the route's schema first.
 */
export function positionCursor(cursor: string | undefined): number | undefined {
  return cursor === undefined ? undefined : Number(cursor);
}
