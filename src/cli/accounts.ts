/** `callhook users create|grant|revoke` and `callhook keys create`: accounts without the API. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { TString } from 'typebox';
import { Value } from 'typebox/value';
import { UniqueConflict } from '../store/db.js';
import { AccountStore } from '../store/account-store.js';
import type { User } from '../domain/accounts.js';
import { isPermission, PERMISSIONS, type Permission } from '../domain/permissions.js';
import { generatePassword } from '../auth/credentials.js';
import { hashPassword } from '../auth/passwords.js';
import { ApiKeyName, Email, Password, UserName } from '../api/schemas.js';
import { NOT_BLANK } from '../errors.js';
import { UsageError, withStore } from './usage.js';

function permissionArg(value: string): Permission {
  if (!isPermission(value)) {
    throw new InvalidArgumentError(
      `unknown permission "${value}"; one of ${PERMISSIONS.join(', ')}`,
    );
  }
  return value;
}

/** A string schema's length rule, e.g. `8 to 1024 characters`. */
function lengthOf(schema: TString): string {
  const { minLength = 0, maxLength } = schema as { minLength?: number; maxLength?: number };
  return `${minLength} to ${maxLength ?? 'any number of'} characters`;
}

/**
 * Checks an option against the API's schema for the same field (`src/api/schemas.ts`), so the
 * command takes what the API takes. Names the option; echoes the value unless it is a password.
 */
function checkOption(flag: string, schema: TString, value: string, what?: string): void {
  const blank = value !== '' && value.trim() === '';
  if (Value.Check(schema, value)) return;
  if ((schema as { pattern?: string }).pattern === NOT_BLANK && blank)
    throw new UsageError(`${flag} must not be blank`);
  const length = lengthOf(schema);
  const rule = what === undefined ? length : `${what} (${length})`;
  const got = flag === '--password' ? '' : `, got "${value}"`;
  throw new UsageError(`${flag} must be ${rule}${got}`);
}

async function userByEmail(accounts: AccountStore, email: string): Promise<User> {
  const user = await accounts.findUserByEmail(email);
  if (user === undefined) throw new UsageError(`no user with email ${email}`);
  return user;
}

/** Adds the account commands to `program`. */
export function accountCommands(program: Command): void {
  const users = program.command('users').description('manage user accounts');

  users
    .command('create')
    .description('create a user; without --password one is generated and printed once')
    .requiredOption('--email <email>', 'sign-in email')
    .option('--name <name>', 'display name (default: the email)')
    .option('--password <password>', `password (${lengthOf(Password)})`)
    .option('--admin', 'make the user an admin', false)
    .option('--grant <permission...>', 'permissions to grant', [])
    .action(
      async (options: {
        email: string;
        name?: string;
        password?: string;
        admin: boolean;
        grant: string[];
      }) => {
        checkOption('--email', Email, options.email, 'an email address like ops@example.com');
        if (options.name !== undefined) checkOption('--name', UserName, options.name);
        else if (!Value.Check(UserName, options.email)) {
          throw new UsageError(
            '--name is required when the email is too long to serve as the name',
          );
        }
        if (options.password !== undefined) checkOption('--password', Password, options.password);
        const grants = options.grant.map(permissionArg);
        const password = options.password ?? generatePassword();
        await withStore(async (store) => {
          const accounts = new AccountStore(store);
          try {
            const user = await accounts.createUser({
              email: options.email,
              name: options.name ?? options.email,
              admin: options.admin,
              passwordHash: await hashPassword(password),
            });
            for (const permission of grants) await accounts.grantUser(user.id, permission);
            process.stdout.write(
              `created user ${user.id} <${user.email}>${user.admin ? ' (admin)' : ''}\n`,
            );
            if (options.password === undefined) process.stdout.write(`password: ${password}\n`);
          } catch (error) {
            if (error instanceof UniqueConflict)
              throw new UsageError(`a user with email ${options.email} exists`);
            throw error;
          }
        });
      },
    );

  for (const [verb, description] of [
    ['grant', 'give a user a direct grant of a permission'],
    ['revoke', "remove a user's direct grant of a permission (their roles' grants stay)"],
  ] as const) {
    users
      .command(`${verb} <email> <permission>`)
      .description(description)
      .action(async (email: string, permission: string) => {
        const grant = permissionArg(permission);
        await withStore(async (store) => {
          const accounts = new AccountStore(store);
          const user = await userByEmail(accounts, email);
          const changed =
            verb === 'grant'
              ? await accounts.grantUser(user.id, grant)
              : await accounts.revokeUser(user.id, grant);
          const roles = await accounts.rolesGranting(user.id, grant);
          process.stdout.write(`${grantLine(verb, changed, user, grant, roles)}\n`);
        });
      });
  }

  program
    .command('keys')
    .description('manage API keys')
    .command('create')
    .description('create an API key for a user and print it (shown only this once)')
    .requiredOption('--email <email>', 'the user the key acts as')
    .option('--name <name>', 'what the key is for', 'cli')
    .action(async (options: { email: string; name: string }) => {
      checkOption('--name', ApiKeyName, options.name);
      await withStore(async (store) => {
        const accounts = new AccountStore(store);
        const user = await userByEmail(accounts, options.email);
        const { key } = await accounts.credentials.createApiKey(user.id, options.name);
        process.stdout.write(`${key}\n`);
        // Made all the same (the account may be enabled again), but said: the service refuses it now.
        if (user.disabled) {
          process.stderr.write(
            `callhook: ${user.email} is disabled: the service refuses this key until the user is ` +
              'enabled again\n',
          );
        }
      });
    });
}

/**
 * What `users grant|revoke` did, and whether the user holds the permission now: a direct grant is
 * one source of it, their roles and the admin flag are others, which the command leaves as they are.
 */
function grantLine(
  verb: 'grant' | 'revoke',
  changed: boolean,
  user: { email: string; admin: boolean },
  permission: Permission,
  roles: string[],
): string {
  const who = user.email;
  const done =
    verb === 'grant'
      ? changed
        ? `granted ${permission} to ${who}`
        : `${who} already had a direct grant of ${permission}: nothing changed`
      : changed
        ? `removed the direct grant of ${permission} from ${who}`
        : `${who} had no direct grant of ${permission}: nothing changed`;
  const through: string[] = [];
  if (roles.length > 0) {
    through.push(`${roles.length === 1 ? 'role' : 'roles'} ${roles.join(', ')}`);
  }
  if (user.admin) through.push('being an admin (admins hold every permission)');
  if (through.length > 0) {
    const still = verb === 'revoke' ? 'still has' : 'also has';
    return `${done}; ${who} ${still} ${permission} through ${through.join(' and ')}`;
  }
  return verb === 'revoke' ? `${done}; ${who} does not have ${permission}` : done;
}
