/** The `callhook` command table. */
import os from 'node:os';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { TString } from 'typebox';
import { Value } from 'typebox/value';
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { serveCommand } from '../main.js';
import { openStore, type Store, UniqueConflict } from '../store/db.js';
import { migrate } from '../store/migrator.js';
import { AccountStore } from '../store/account-store.js';
import type { User } from '../domain/accounts.js';
import { isPermission, PERMISSIONS, type Permission } from '../domain/permissions.js';
import { generatePassword } from '../auth/credentials.js';
import { hashPassword } from '../auth/passwords.js';
import { ApiKeyName, Email, Password, UserName } from '../api/schemas.js';
import { NOT_BLANK } from '../errors.js';
import { stopSignal } from './stop-signal.js';
import { StartupError } from '../startup-error.js';
import { DeliveryQueue } from '../queue/delivery-queue.js';
import { DeliveryReadStore } from '../store/delivery-read-store.js';
import { IntegrationStore } from '../store/integration-store.js';
import { ReplayJobStore, type ReplayJobView } from '../store/replay-job-store.js';
import { ReplayRunner } from '../queue/replay-runner.js';
import { simulate, SimulateError, type SimulateReport } from './simulate.js';
import { parseTimestamp, timestampProblem } from '../domain/call-event.js';

/** Thrown for a wrong use of a command: printed without a stack, exit code 2. */
class UsageError extends Error {}

async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = await openStore(config.database);
  try {
    await migrate(store);
    return await fn(store);
  } finally {
    await store.close();
  }
}

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

// Commander's own refusals (a required option or argument missing, an unknown option or command,
// an extra argument) come back as a CommanderError, after it printed them: exit code 2, as every
// wrong use of a command (`.exitOverride()` is inherited by the commands defined below).
const program = new Command('callhook')
  .description('Call-event integration service')
  .exitOverride();

program
  .command('serve')
  .description(
    'run the API, console and delivery workers (settings: CALLHOOK_* variables, docs/config.md)',
  )
  .option('--api', 'run the API and console (without --worker: no delivery workers here)')
  .option('--worker', 'run delivery workers (without --api: no listener here)')
  .action(async (options: { api?: boolean; worker?: boolean }) => {
    const both = options.api === undefined && options.worker === undefined;
    await serveCommand(stopSignal.signal, {
      api: both || options.api === true,
      worker: both || options.worker === true,
    });
  });

program
  .command('migrate')
  .description('apply pending database migrations and exit')
  .action(async () => {
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const store = await openStore(config.database);
    try {
      const result = await migrate(store);
      logger.info({ applied: result.applied }, result.applied.length ? 'migrated' : 'up to date');
    } finally {
      await store.close();
    }
  });

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
        throw new UsageError('--name is required when the email is too long to serve as the name');
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

program
  .command('simulate')
  .description('play a dialer against a running Callhook: call events for a campaign, at a rate')
  .requiredOption('--key <apiKey>', 'API key with the event_ingest permission')
  .requiredOption('--campaign <id>', 'the campaign the calls belong to')
  .option('--url <url>', 'where Callhook listens', 'http://127.0.0.1:8080')
  .option('--calls <n>', 'how many calls', '100')
  .option('--rate <perSecond>', 'calls per second (0: as fast as answers come)', '10')
  .option('--batch <n>', 'calls per request', '50')
  .option('--lifecycle', 'also report call.started and call.answered', false)
  .action(
    async (options: {
      key: string;
      campaign: string;
      url: string;
      calls: string;
      rate: string;
      batch: string;
      lifecycle: boolean;
    }) => {
      const number = (name: string, value: string, min: number) => {
        const n = Number(value);
        if (!Number.isFinite(n) || n < min)
          throw new UsageError(`--${name} must be a number ≥ ${min}, got "${value}"`);
        return n;
      };
      const report = await simulate({
        url: serviceOrigin(options.url),
        key: options.key,
        campaign: options.campaign,
        calls: Math.floor(number('calls', options.calls, 1)),
        rate: number('rate', options.rate, 0),
        // A request holds at most 1,000 events; with --lifecycle a call is up to three.
        batch: Math.min(
          options.lifecycle ? 333 : 1000,
          Math.floor(number('batch', options.batch, 1)),
        ),
        lifecycle: options.lifecycle,
        signal: stopSignal.signal,
      });
      process.stdout.write(
        `${reportLine(report)}${report.stopped ? ' (stopped by a signal)' : ''}\n`,
      );
    },
  );

/**
 * `--url` as the origin requests go to: an absolute http(s) URL with no path (the API is at
 * `/api/v1` of the service's own origin), query or credentials.
 */
function serviceOrigin(value: string): string {
  const rule = `--url must be where Callhook listens, an http: or https: origin like http://127.0.0.1:8080, got "${value}"`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(rule);
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  )
    throw new UsageError(rule);
  return url.origin;
}

/** What `simulate` sent and how the service took it. */
const reportLine = (report: SimulateReport) =>
  `${report.calls} calls, ${report.events} events in ${report.seconds} s: ` +
  `${report.accepted} accepted, ${report.duplicates} duplicates, ${report.rejected} rejected`;

const deliveries = program.command('deliveries').description('send deliveries again');

deliveries
  .command('retry <deliveryId>')
  .description('send a failed delivery again now, with a fresh retry budget')
  .action(async (deliveryId: string) => {
    await withStore(async (store) => {
      const queue = new DeliveryQueue(store);
      if (!(await queue.retryNow(deliveryId))) {
        const delivery = await new DeliveryReadStore(store.db).find(deliveryId, undefined);
        if (delivery === undefined) throw new UsageError(`no delivery ${deliveryId}`);
        throw new UsageError(await queue.whyNotRetried(delivery));
      }
      process.stdout.write(`delivery ${deliveryId} is pending again\n`);
    });
  });

deliveries
  .command('replay <integrationId>')
  .description(
    'send again every failed delivery of an integration created since a time (a replay job, run here)',
  )
  .requiredOption('--since <time>', 'RFC 3339 time, e.g. 2026-11-27T00:00:00Z')
  .action(async (integrationId: string, options: { since: string }) => {
    const since = parseTimestamp(options.since);
    if (since === undefined)
      throw new UsageError(`--since ${timestampProblem(options.since)!}, got "${options.since}"`);
    await withStore(async (store) => {
      const integration = await new IntegrationStore(store).find(integrationId, undefined);
      if (integration === undefined) throw new UsageError(`no integration ${integrationId}`);
      // A replay job, as the API makes: run here, batch by batch (or watched, if a worker took it).
      const job = await new ReplayJobStore(store.db).create({
        ownerId: integration.ownerId,
        integrationId,
        since,
      });
      // Ctrl-C (SIGINT) or SIGTERM cancels the job, after the batch under way.
      whenStopped(() =>
        process.stderr.write(
          `callhook: ${stopSignal.received}: cancelling replay job ${job.id} after the batch ` +
            'under way (a second signal exits at once)\n',
        ),
      );
      const done = await new ReplayRunner(store).runToEnd(
        job,
        (progress) => process.stderr.write(`${progressLine(progress)}\n`),
        stopSignal.signal,
      );
      if (done.status === 'failed')
        throw new Error(`replay job ${job.id} failed: ${done.error ?? 'no reason recorded'}`);
      process.stdout.write(
        `${done.requeued} failed deliveries of ${integrationId} are pending again\n`,
      );
      if (done.status === 'cancelled') replayCancelled(done);
    });
  });

/** Runs `say` when the first stop signal comes, or now if it came already. */
function whenStopped(say: () => void): void {
  if (stopSignal.signal.aborted) say();
  else stopSignal.signal.addEventListener('abort', say, { once: true });
}

/** `replay job <id>: 500 of 50000 requeued`, with why its last batch failed while it is retried. */
const progressLine = (job: ReplayJobView) =>
  `replay job ${job.id}: ${job.requeued} of ${job.total} requeued` +
  (job.status === 'running' && job.error !== null ? ` (${job.error})` : '');

/**
 * The job ended cancelled: by this process's stop signal (exit code 128 + its number, as a shell
 * reports a command a signal ended: 130 for Ctrl-C), or by someone else (exit code 1).
 */
function replayCancelled(job: ReplayJobView): void {
  const signal = stopSignal.received;
  const how = signal === undefined ? 'was cancelled meanwhile,' : `cancelled by ${signal}`;
  process.stderr.write(
    `callhook: replay job ${job.id} ${how} after ${job.requeued} of ${job.total} requeued ` +
      '(those stay pending)\n',
  );
  process.exitCode = signal === undefined ? 1 : 128 + os.constants.signals[signal];
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (
    error instanceof ConfigError ||
    error instanceof StartupError ||
    error instanceof UsageError ||
    error instanceof InvalidArgumentError
  ) {
    process.stderr.write(`callhook: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof CommanderError) {
    // Printed already; help asked for (`--help`) is exit code 0.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  if (error instanceof SimulateError) {
    // What went out before the failure still counts: a dialer's events it accepted are stored.
    process.stdout.write(`${reportLine(error.report)}\n`);
    process.stderr.write(`callhook: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(
    `callhook: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
