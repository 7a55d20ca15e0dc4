/**
 * The one reader of `process.env`. Every `CALLHOOK_*` setting is parsed and validated here, at
 * start-up; a wrong value stops start-up with a message naming the variable. The result is frozen.
 * `docs/config.md` documents each entry of `settings` below.
 */
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { isSupportedCountry } from 'libphonenumber-js';
import { Value } from 'typebox/value';
import { Email, Password } from './api/schemas.js';
import { MIN_PASSWORD_LENGTH } from './auth/passwords.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

export type DatabaseConfig = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

export interface Config {
  readonly host: string;
  readonly port: number;
  /**
   * A second listener on `host` serving only `/metrics` and `/healthz`, so a worker-only process
   * (`serve --worker`, which opens no API port) can be scraped; undefined: none.
   */
  readonly metricsPort: number | undefined;
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  /** 32-byte key for secrets at rest; undefined means "generate one into the data dir". */
  readonly secretKey: Buffer | undefined;
  /** CIDR ranges opened in the outbound network policy, as `[address, prefixLength]`. */
  readonly allowNetworks: readonly AllowedNetwork[];
  readonly adminEmail: string | undefined;
  readonly adminPassword: string | undefined;
  readonly logLevel: LogLevel;
  /**
   * Minimum delivery lease: how long a claimed delivery stays with a worker before another may
   * take it over (a crashed worker's deliveries wait this long). At least the attempt's timeout +
   * min(15 s, this).
   */
  readonly leaseMs: number;
  /** Deliveries one worker process has in flight at once. */
  readonly workerConcurrency: number;
  /**
   * An integration failing this many consecutive attempts over at least `autoDisableAfterMs`
   * without a success is disabled, with the reason shown; 0 turns auto-disable off.
   */
  readonly autoDisableAfterFailures: number;
  readonly autoDisableAfterMs: number;
  /** Attempt logs and event bodies older than this are pruned (milliseconds). */
  readonly retentionMs: number;
  /** The dashboard's per-minute activity rows older than this are pruned (milliseconds). */
  readonly activityRetentionMs: number;
  /**
   * Behind a TLS-terminating proxy: trust its `X-Forwarded-*` headers (client address for sign-in
   * throttling, https for the session cookie's `Secure`). `true`, or a list of proxy addresses.
   */
  readonly trustProxy: boolean | string[];
  /** ISO 3166 country the `e164` filter assumes for numbers written without `+`. */
  readonly defaultCountry: string | undefined;
  /** `production` refuses to start without CALLHOOK_SECRET_KEY. */
  readonly mode: 'embedded' | 'production';
}

export interface AllowedNetwork {
  readonly cidr: string;
  readonly range: [ipaddr.IPv4 | ipaddr.IPv6, number];
}

/** Wrong settings; its message is one line for one problem, one line more per problem else. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      problems.length === 1
        ? `invalid configuration: ${problems[0]!}`
        : `invalid configuration:\n  ${problems.join('\n  ')}`,
    );
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The size of libuv's thread pool, which Node reads from `UV_THREADPOOL_SIZE` once at start
 * (4 when unset or not a positive integer; libuv takes at most 1024). Host name look-ups are
 * capped at half of it.
 */
export function threadPoolSize(env: Env = process.env): number {
  const size = Number(env['UV_THREADPOOL_SIZE']);
  return Number.isInteger(size) && size > 0 ? Math.min(size, 1024) : 4;
}

/**
 * Reads and validates the configuration. Collects every problem before failing, so one start
 * reports all wrong variables at once.
 *
 * ### Examples
 * ```ts
 * const config = loadConfig({ CALLHOOK_PORT: '9090' }); // other settings take their defaults
 * ```
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const host = text('CALLHOOK_HOST') ?? '127.0.0.1';

  const portNumber = (name: string): number | undefined => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    if (/^\d+$/.test(raw) && Number(raw) <= 65535) return Number(raw);
    problems.push(`${name} must be a whole number from 0 to 65535, got "${raw}"`);
    return undefined;
  };
  const port = portNumber('CALLHOOK_PORT') ?? 8080;
  const metricsPort = portNumber('CALLHOOK_METRICS_PORT');

  const dataDir = path.resolve(text('CALLHOOK_DATA_DIR') ?? './data');

  let database: DatabaseConfig = { kind: 'sqlite', file: path.join(dataDir, 'callhook.db') };
  const url = text('CALLHOOK_DATABASE_URL');
  if (url !== undefined) {
    if (/^postgres(ql)?:\/\//.test(url)) database = { kind: 'postgres', url };
    else if (url.startsWith('sqlite:')) {
      const file = url.slice('sqlite:'.length).replace(/^\/\//, '');
      if (file === '') problems.push('CALLHOOK_DATABASE_URL "sqlite:" needs a file path');
      else database = { kind: 'sqlite', file: path.resolve(file) };
    } else {
      problems.push(
        'CALLHOOK_DATABASE_URL must start with postgres://, postgresql:// or sqlite:, ' +
          `got "${url.replace(/\/\/[^@]*@/, '//…@')}"`,
      );
    }
  }

  let mode: Config['mode'] = 'embedded';
  const rawMode = text('CALLHOOK_MODE');
  if (rawMode !== undefined) {
    if (rawMode === 'embedded' || rawMode === 'production') mode = rawMode;
    else problems.push(`CALLHOOK_MODE must be "embedded" or "production", got "${rawMode}"`);
  }

  let secretKey: Buffer | undefined;
  const rawKey = text('CALLHOOK_SECRET_KEY');
  if (rawKey !== undefined) {
    secretKey = parseSecretKey(rawKey);
    if (secretKey === undefined) {
      problems.push(
        'CALLHOOK_SECRET_KEY must be 32 bytes as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)',
      );
    }
  } else if (mode === 'production') {
    problems.push('CALLHOOK_SECRET_KEY is required when CALLHOOK_MODE=production');
  } else if (database.kind === 'postgres') {
    // Processes sharing a PostgreSQL database must seal and open secrets with one key; a key
    // generated per data dir would make each process unable to read the others' secrets.
    problems.push(
      'CALLHOOK_SECRET_KEY is required with PostgreSQL: every process must use the same key (e.g. `openssl rand -hex 32`)',
    );
  }

  const allowNetworks: AllowedNetwork[] = [];
  const rawNetworks = text('CALLHOOK_ALLOW_NETWORKS');
  if (rawNetworks !== undefined) {
    for (const cidr of rawNetworks.split(/[\s,]+/).filter(Boolean)) {
      const network = parseAllowedNetwork(cidr);
      if (typeof network === 'string') problems.push(network);
      else allowNetworks.push(network);
    }
  }

  // The first admin must be able to sign in: the same rules as the sign-in route's.
  const adminEmail = text('CALLHOOK_ADMIN_EMAIL');
  if (adminEmail !== undefined && !Value.Check(Email, adminEmail)) {
    problems.push(
      `CALLHOOK_ADMIN_EMAIL must be an email address of at most 254 characters, got "${adminEmail}"`,
    );
  }
  const adminPassword = env['CALLHOOK_ADMIN_PASSWORD'] || undefined;
  if (adminPassword !== undefined) {
    const length = adminPassword.length;
    if (!Value.Check(Password, adminPassword)) {
      problems.push(
        `CALLHOOK_ADMIN_PASSWORD must be ${MIN_PASSWORD_LENGTH} to 1024 characters, has ${length}`,
      );
    }
  }

  let logLevel: LogLevel = 'info';
  const rawLevel = text('CALLHOOK_LOG_LEVEL');
  if (rawLevel !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(rawLevel)) logLevel = rawLevel as LogLevel;
    else
      problems.push(
        `CALLHOOK_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${rawLevel}"`,
      );
  }

  let leaseMs = 60_000;
  const rawLease = text('CALLHOOK_LEASE_SECONDS');
  if (rawLease !== undefined) {
    if (/^\d+$/.test(rawLease) && Number(rawLease) >= 1 && Number(rawLease) <= 3600)
      leaseMs = Number(rawLease) * 1000;
    else
      problems.push(
        `CALLHOOK_LEASE_SECONDS must be a whole number from 1 to 3600, got "${rawLease}"`,
      );
  }

  const wholeNumber = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    if (/^\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= max) return Number(raw);
    problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    return fallback;
  };
  const workerConcurrency = wholeNumber('CALLHOOK_WORKER_CONCURRENCY', 64, 1, 10_000);
  const autoDisableAfterFailures = wholeNumber(
    'CALLHOOK_AUTO_DISABLE_AFTER_FAILURES',
    50,
    0,
    1_000_000,
  );
  const autoDisableAfterMs =
    wholeNumber('CALLHOOK_AUTO_DISABLE_AFTER_HOURS', 24, 0, 24 * 365) * 3_600_000;

  // At most 100 years: the cut-off (now minus this) must stay a PostgreSQL bigint; a billion days
  // made every prune fail with `value "-86399998203930330000" is out of range for type bigint`.
  const retentionMs = wholeNumber('CALLHOOK_RETENTION_DAYS', 30, 1, 36_500) * 86_400_000;
  const activityRetentionMs =
    wholeNumber('CALLHOOK_ACTIVITY_RETENTION_DAYS', 7, 1, 3650) * 86_400_000;

  let trustProxy: boolean | string[] = false;
  const rawProxy = text('CALLHOOK_TRUST_PROXY');
  if (rawProxy !== undefined) {
    if (rawProxy === 'true' || rawProxy === 'false') trustProxy = rawProxy === 'true';
    else {
      // Read as strictly as CALLHOOK_ALLOW_NETWORKS: `10/8` must not trust another range.
      const entries = rawProxy.split(/[\s,]+/).filter(Boolean);
      const before = problems.length;
      const bad: string[] = [];
      for (const entry of entries) {
        if (entry.includes('/')) {
          const network = parseAllowedNetwork(entry, 'CALLHOOK_TRUST_PROXY');
          if (typeof network === 'string') problems.push(network);
        } else if (!isPlainAddress(entry)) bad.push(entry);
      }
      if (bad.length > 0) {
        problems.push(
          `CALLHOOK_TRUST_PROXY must be true, false or a list of addresses (10.0.0.1, fd00::1) and CIDRs, got "${bad.join(', ')}"`,
        );
      }
      if (problems.length === before) trustProxy = entries;
    }
  }

  const defaultCountry = text('CALLHOOK_DEFAULT_COUNTRY')?.toUpperCase();
  // The e164 filter's own check: a code it does not know would fail every `| e164` at save.
  if (
    defaultCountry !== undefined &&
    !(/^[A-Z]{2}$/.test(defaultCountry) && isSupportedCountry(defaultCountry))
  ) {
    problems.push(
      `CALLHOOK_DEFAULT_COUNTRY must be a two-letter country code like US or FR, got "${defaultCountry}"`,
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    host,
    port,
    metricsPort,
    dataDir,
    database: Object.freeze(database),
    secretKey,
    allowNetworks: Object.freeze(allowNetworks),
    adminEmail,
    adminPassword,
    logLevel,
    mode,
    defaultCountry,
    trustProxy,
    leaseMs,
    workerConcurrency,
    retentionMs,
    activityRetentionMs,
    autoDisableAfterFailures,
    autoDisableAfterMs,
  });
}

function parseSecretKey(raw: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(raw)) return Buffer.from(raw, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(raw)) {
    const key = Buffer.from(raw, 'base64');
    if (key.length === 32) return key;
  }
  return undefined;
}

/**
 * One CALLHOOK_ALLOW_NETWORKS entry, or the problem with it. Only a four-part decimal IPv4 or an
 * IPv6 address is taken before the `/`: inet_aton's shorthands would open another range than the
 * one written (`10/8` is 0.0.0.0/8, `192.168.1/24` is 192.168.0.0/24, `010.0.0.0/8` is octal
 * 8.0.0.0/8). An address with host bits set is refused too, as the range it opens is wider than
 * it looks (`10.1.2.3/8` opens all of 10.0.0.0/8).
 */
/** A four-part decimal IPv4 address or an IPv6 address without a zone: no shorthand. */
function isPlainAddress(address: string): boolean {
  if (!address.includes(':')) return ipaddr.IPv4.isValidFourPartDecimal(address);
  const tail = address.slice(address.lastIndexOf(':') + 1);
  const tailOk = !tail.includes('.') || ipaddr.IPv4.isValidFourPartDecimal(tail);
  return !address.includes('%') && tailOk && ipaddr.IPv6.isValid(address);
}

function parseAllowedNetwork(
  cidr: string,
  variable = 'CALLHOOK_ALLOW_NETWORKS',
): AllowedNetwork | string {
  const problem = (why: string) => `${variable} has "${cidr}", ${why}`;
  const notCidr = problem('which is not a CIDR like 10.1.0.0/16 or fd00:1::/64');
  const match = /^([^/]+)\/(0|[1-9]\d{0,2})$/.exec(cidr);
  if (match === null) return notCidr;
  const address = match[1]!;
  const prefix = Number(match[2]);
  let range: [ipaddr.IPv4 | ipaddr.IPv6, number];
  if (address.includes(':')) {
    // An embedded IPv4 tail (::ffff:10.0.0.0) must be four-part decimal as well; no zone id.
    if (!isPlainAddress(address) || prefix > 128) return notCidr;
    range = [ipaddr.IPv6.parse(address), prefix];
  } else {
    if (!ipaddr.IPv4.isValidFourPartDecimal(address)) {
      return problem('whose address is not four decimal numbers like 10.1.0.0 (no shorthand)');
    }
    if (prefix > 32) return notCidr;
    range = [ipaddr.IPv4.parse(address), prefix];
  }
  const network =
    range[0].kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(cidr)
      : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  if (network.toString() !== range[0].toString()) {
    return problem(`which has host bits set; write its network, ${network.toString()}/${prefix}`);
  }
  return { cidr, range };
}
