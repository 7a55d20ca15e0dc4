/** Users, roles and grants; their API keys and sessions are in credential-store.ts. */
import { uuidv7 } from 'uuidv7';
import type { Kysely, Updateable } from 'kysely';
import { unique, type Store } from './db.js';
import { isPostgres } from './bulk-insert.js';
import { inWriteTransaction } from './write-transaction.js';
import type { Database, UsersTable } from './schema.js';
import type { Page, Role, User } from '../domain/accounts.js';
import { isoTime } from '../domain/accounts.js';
import { isPermission, type Permission } from '../domain/permissions.js';
import { CredentialStore } from './credential-store.js';
import { noteAccountsChanged, toUser } from './user-rows.js';

export interface UserWithHash extends User {
  passwordHash: string | null;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A change that would leave no active admin (`AccountStore.updateUser`). */
export class LastAdmin extends Error {
  constructor(readonly userId: string) {
    super(`user ${userId} is the last active admin`);
  }
}

export class AccountStore {
  private readonly db: Kysely<Database>;
  /** The users' API keys and sign-in sessions. */
  readonly credentials: CredentialStore;

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.db = store.db;
    this.credentials = new CredentialStore(store.db, now);
  }

  // ── users ────────────────────────────────────────────────────────────────

  async createUser(input: {
    email: string;
    name: string;
    passwordHash: string | null;
    admin: boolean;
  }): Promise<User> {
    const now = this.now();
    const row = {
      id: uuidv7(),
      email: normalizeEmail(input.email),
      name: input.name,
      password_hash: input.passwordHash,
      admin: input.admin ? 1 : 0,
      disabled: 0,
      created_at: now,
      updated_at: now,
    };
    await unique(this.store, () => this.db.insertInto('users').values(row).execute());
    return toUser(row);
  }

  async countUsers(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async findUser(id: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toUser(row);
  }

  async findUserByEmail(email: string): Promise<UserWithHash | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', normalizeEmail(email))
      .executeTakeFirst();
    return row && { ...toUser(row), passwordHash: row.password_hash };
  }

  async listUsers(page: { cursor?: string | undefined; limit: number }): Promise<Page<User>> {
    let query = this.db
      .selectFrom('users')
      .selectAll()
      .orderBy('id')
      .limit(page.limit + 1);
    if (page.cursor !== undefined) query = query.where('id', '>', page.cursor);
    const rows = await query.execute();
    return pageOf(rows.map(toUser), page.limit);
  }

  async updateUser(
    id: string,
    patch: { name?: string; admin?: boolean; disabled?: boolean; passwordHash?: string },
  ): Promise<User | undefined> {
    const values: Updateable<UsersTable> = { updated_at: this.now() };
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.admin !== undefined) values.admin = patch.admin ? 1 : 0;
    if (patch.disabled !== undefined) values.disabled = patch.disabled ? 1 : 0;
    if (patch.passwordHash !== undefined) values.password_hash = patch.passwordHash;
    await inWriteTransaction(this.store, async (trx) => {
      if (patch.admin === false || patch.disabled === true) {
        // Every active admin's row, locked on PostgreSQL: two admins demoting (or disabling) each
        // other at the same moment take turns, and the second finds the first gone.
        let admins = trx
          .selectFrom('users')
          .select('id')
          .where('admin', '=', 1)
          .where('disabled', '=', 0);
        if (isPostgres(trx)) admins = admins.forUpdate();
        const active = await admins.execute();
        if (active.length === 1 && active[0]!.id === id) throw new LastAdmin(id);
      }
      await trx.updateTable('users').set(values).where('id', '=', id).execute();
      if (patch.disabled === true || patch.passwordHash !== undefined) {
        await trx.deleteFrom('sessions').where('user_id', '=', id).execute();
      }
    });
    noteAccountsChanged();
    return this.findUser(id);
  }

  // ── grants ───────────────────────────────────────────────────────────────

  /** Gives a user a direct grant: true when it is new, false when they had it already. */
  async grantUser(userId: string, permission: Permission): Promise<boolean> {
    const result = await this.db
      .insertInto('user_permissions')
      .values({ user_id: userId, permission })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    noteAccountsChanged();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /**
   * Removes a user's direct grant: true when there was one. Their roles' grants stay (see
   * rolesGranting).
   */
  async revokeUser(userId: string, permission: Permission): Promise<boolean> {
    const result = await this.db
      .deleteFrom('user_permissions')
      .where('user_id', '=', userId)
      .where('permission', '=', permission)
      .executeTakeFirst();
    noteAccountsChanged();
    return Number(result.numDeletedRows) > 0;
  }

  /** The user's roles that grant `permission`, by name. */
  async rolesGranting(userId: string, permission: Permission): Promise<string[]> {
    const rows = await this.db
      .selectFrom('user_roles')
      .innerJoin('role_permissions', 'role_permissions.role_id', 'user_roles.role_id')
      .innerJoin('roles', 'roles.id', 'user_roles.role_id')
      .select('roles.name')
      .where('user_roles.user_id', '=', userId)
      .where('role_permissions.permission', '=', permission)
      .orderBy('roles.name')
      .execute();
    return rows.map((r) => r.name);
  }

  async directPermissions(userId: string): Promise<Permission[]> {
    const rows = await this.db
      .selectFrom('user_permissions')
      .select('permission')
      .where('user_id', '=', userId)
      .orderBy('permission')
      .execute();
    return rows.map((r) => r.permission).filter(isPermission);
  }

  /** Direct grants ∪ grants of the user's roles. */
  async effectivePermissions(userId: string): Promise<Set<Permission>> {
    const rows = await this.db
      .selectFrom('user_permissions')
      .select('permission')
      .where('user_id', '=', userId)
      .union(
        this.db
          .selectFrom('role_permissions')
          .innerJoin('user_roles', 'user_roles.role_id', 'role_permissions.role_id')
          .select('role_permissions.permission')
          .where('user_roles.user_id', '=', userId),
      )
      .execute();
    return new Set(rows.map((r) => r.permission).filter(isPermission));
  }

  async addUserRole(userId: string, roleId: string): Promise<void> {
    await this.db
      .insertInto('user_roles')
      .values({ user_id: userId, role_id: roleId })
      .onConflict((oc) => oc.doNothing())
      .execute();
    noteAccountsChanged();
  }

  async removeUserRole(userId: string, roleId: string): Promise<void> {
    await this.db
      .deleteFrom('user_roles')
      .where('user_id', '=', userId)
      .where('role_id', '=', roleId)
      .execute();
    noteAccountsChanged();
  }

  async userRoleIds(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('user_roles')
      .select('role_id')
      .where('user_id', '=', userId)
      .orderBy('role_id')
      .execute();
    return rows.map((r) => r.role_id);
  }

  // ── roles ────────────────────────────────────────────────────────────────

  /** A role and its grants, in one transaction. */
  async createRole(input: {
    name: string;
    description: string;
    permissions?: readonly Permission[];
  }): Promise<Role> {
    const row = {
      id: uuidv7(),
      name: input.name,
      description: input.description,
      created_at: this.now(),
    };
    const permissions = [...new Set(input.permissions ?? [])];
    await unique(this.store, () =>
      this.db.transaction().execute(async (trx) => {
        await trx.insertInto('roles').values(row).execute();
        if (permissions.length > 0) {
          await trx
            .insertInto('role_permissions')
            .values(permissions.map((permission) => ({ role_id: row.id, permission })))
            .execute();
        }
      }),
    );
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      permissions: [...permissions].sort(),
      createdAt: isoTime(row.created_at)!,
    };
  }

  async findRole(id: string): Promise<Role | undefined> {
    const row = await this.db
      .selectFrom('roles')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const grants = await this.db
      .selectFrom('role_permissions')
      .select('permission')
      .where('role_id', '=', id)
      .orderBy('permission')
      .execute();
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      permissions: grants.map((g) => g.permission).filter(isPermission),
      createdAt: isoTime(row.created_at)!,
    };
  }

  async listRoles(page: { cursor?: string | undefined; limit: number }): Promise<Page<Role>> {
    let query = this.db
      .selectFrom('roles')
      .select('id')
      .orderBy('id')
      .limit(page.limit + 1);
    if (page.cursor !== undefined) query = query.where('id', '>', page.cursor);
    const ids = await query.execute();
    const roles = await Promise.all(ids.map((r) => this.findRole(r.id)));
    return pageOf(
      roles.filter((r): r is Role => r !== undefined),
      page.limit,
    );
  }

  async updateRole(
    id: string,
    patch: { name?: string; description?: string },
  ): Promise<Role | undefined> {
    const values: { name?: string; description?: string } = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.description !== undefined) values.description = patch.description;
    if (Object.keys(values).length > 0) {
      await unique(this.store, () =>
        this.db.updateTable('roles').set(values).where('id', '=', id).execute(),
      );
    }
    return this.findRole(id);
  }

  async deleteRole(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('roles').where('id', '=', id).executeTakeFirst();
    noteAccountsChanged();
    return Number(result.numDeletedRows) > 0;
  }

  /** Gives a role a permission: true when it is new, false when the role had it already. */
  async grantRole(roleId: string, permission: Permission): Promise<boolean> {
    const result = await this.db
      .insertInto('role_permissions')
      .values({ role_id: roleId, permission })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    noteAccountsChanged();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Removes a permission from a role: true when the role had it. */
  async revokeRole(roleId: string, permission: Permission): Promise<boolean> {
    const result = await this.db
      .deleteFrom('role_permissions')
      .where('role_id', '=', roleId)
      .where('permission', '=', permission)
      .executeTakeFirst();
    noteAccountsChanged();
    return Number(result.numDeletedRows) > 0;
  }
}

/** Cuts a `limit + 1` result into a page; the cursor is the last id returned. */
export function pageOf<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}
