/** Users' API keys (stored hashed) and sign-in sessions: what a request's credential resolves to. */
import { uuidv7 } from 'uuidv7';
import type { Kysely, Selectable } from 'kysely';
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

  async createSession(userId: string, hash: string, ttlMs: number): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('sessions')
      .values({ id: hash, user_id: userId, created_at: now, expires_at: now + ttlMs })
      .execute();
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
