/** Users' API keys (stored hashed) and sign-in sessions: what a request's credential resolves to. */
import { uuidv7 } from 'uuidv7';
import { sql, type Kysely, type Selectable } from 'kysely';
import { isPostgres } from './bulk-insert.js';
import type { ApiKeysTable, Database } from './schema.js';
import type { ApiKey, Page, User } from '../domain/accounts.js';
import { isoTime } from '../domain/accounts.js';
import { noteAccountsChanged, toUser } from './user-rows.js';
import { newApiKey } from '../auth/credentials.js';

export class CredentialStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {}

  // ── API keys ─────────────────────────────────────────────────────────────

  /** A new API key for `userId`: stored as its hash, `key` (the secret) shown only now. */
  async createApiKey(userId: string, name: string): Promise<ApiKey & { key: string }> {
    const secret = newApiKey();
    const row = {
      id: uuidv7(),
      user_id: userId,
      name,
      key_hash: secret.hash,
      prefix: secret.prefix,
      created_at: this.now(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return { ...toApiKey(row), key: secret.key };
  }

  async listApiKeys(
    userId: string,
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<ApiKey>> {
    let query = this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('id')
      .limit(page.limit + 1);
    if (page.cursor !== undefined) query = query.where('id', '>', page.cursor);
    const rows = await query.execute();
    const items = rows.slice(0, page.limit).map(toApiKey);
    return { items, nextCursor: rows.length > page.limit ? items.at(-1)!.id : null };
  }

  /** One key, whoever's it is (revoked ones too); undefined when there is none. */
  async findApiKey(keyId: string): Promise<ApiKey | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', keyId)
      .executeTakeFirst();
    return row === undefined ? undefined : toApiKey(row);
  }

  /** Revokes one of `userId`'s keys; false when there is no such key of theirs. */
  async revokeApiKey(userId: string, keyId: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: this.now() })
      .where('id', '=', keyId)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    noteAccountsChanged();
    return Number(result.numUpdatedRows) > 0;
  }

  /** The enabled user behind an unrevoked key. Records the use at most once a minute. */
  async userByApiKeyHash(hash: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .innerJoin('users', 'users.id', 'api_keys.user_id')
      .selectAll('users')
      .select(['api_keys.id as key_id', 'api_keys.last_used_at'])
      .where('api_keys.key_hash', '=', hash)
      .where('api_keys.revoked_at', 'is', null)
      .where('users.disabled', '=', 0)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const now = this.now();
    if (row.last_used_at === null || now - row.last_used_at > 60_000) {
      await this.db
        .updateTable('api_keys')
        .set({ last_used_at: now })
        .where('id', '=', row.key_id)
        .execute();
    }
    return toUser(row);
  }

  // ── sessions ─────────────────────────────────────────────────────────────

  /**
   * A session for a sign-in that checked `passwordHash`: made only while it is still the user's
   * password and the user is enabled, in the same statement. A password change or a disable ends
   * the user's sessions; one landing between the sign-in's read of the user and this write would
   * otherwise be outlived by the session made here. On PostgreSQL the user's row is locked for
   * share, so such a change waits for this insert (and deletes its session) or this insert waits
   * for the change (and finds the row changed). False when no session was made.
   */
  async createSession(
    user: { id: string; passwordHash: string },
    hash: string,
    ttlMs: number,
  ): Promise<boolean> {
    const now = this.now();
    let current = this.db
      .selectFrom('users')
      .select([
        sql<string>`cast(${hash} as text)`.as('id'),
        'users.id as user_id',
        sql<number>`cast(${now} as bigint)`.as('created_at'),
        sql<number>`cast(${now + ttlMs} as bigint)`.as('expires_at'),
      ])
      .where('users.id', '=', user.id)
      .where('users.password_hash', '=', user.passwordHash)
      .where('users.disabled', '=', 0);
    if (isPostgres(this.db)) current = current.forShare();
    const result = await this.db
      .insertInto('sessions')
      .columns(['id', 'user_id', 'created_at', 'expires_at'])
      .expression(current)
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async userBySessionHash(hash: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('users')
      .where('sessions.id', '=', hash)
      .where('sessions.expires_at', '>', this.now())
      .where('users.disabled', '=', 0)
      .executeTakeFirst();
    return row && toUser(row);
  }

  async deleteSession(hash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id', '=', hash).execute();
  }
}

function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    prefix: row.prefix,
    createdAt: isoTime(row.created_at)!,
    lastUsedAt: isoTime(row.last_used_at),
    revokedAt: isoTime(row.revoked_at),
  };
}
