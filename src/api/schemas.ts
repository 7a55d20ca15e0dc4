/** Schemas shared by several route plugins. */
import { Type, type Static } from 'typebox';
import { PERMISSIONS } from '../domain/permissions.js';
import { MIN_PASSWORD_LENGTH } from '../auth/passwords.js';
import { NOT_BLANK } from '../errors.js';

// One `enum`, not a union of literals: an unknown name is then one 400 detail, not one per
// permission it is not (and one more for the union).
export const Permission = Type.Enum(PERMISSIONS);

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  }),
});

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

export const PageQuery = Type.Object({
  // The `nextCursor` of the previous page (page-cursor.ts: the handler refuses any other text).
  // An empty one is refused here, as by the position cursors of contacts and results.
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
});
export type PageQuery = Static<typeof PageQuery>;

export function pageOf<T extends Parameters<typeof Type.Array>[0]>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()]),
  });
}

export const User = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  admin: Type.Boolean(),
  disabled: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const UserDetail = Type.Intersect([
  User,
  Type.Object({
    permissions: Type.Array(Permission),
    effectivePermissions: Type.Array(Permission),
    roleIds: Type.Array(Type.String()),
  }),
]);

export const Role = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  permissions: Type.Array(Permission),
  createdAt: Type.String(),
});

export const ApiKey = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});

/**
 * The name of a user, a role, an API key, a contact list, a campaign or an integration: up to
 * `maxLength` characters, not all of them white space (`must not be blank`).
 */
export function DisplayName(maxLength: number) {
  return Type.String({ minLength: 1, maxLength, pattern: NOT_BLANK });
}

/*
 * A user's fields as the API takes them; `callhook users create` checks its options against the
 * same schemas, so the two accept the same values.
 */
export const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' });
export const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 });
export const UserName = DisplayName(200);
export const ApiKeyName = DisplayName(100);
