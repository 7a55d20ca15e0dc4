/**
 * Which parts of an integration are secret, and their three forms: plain (workers), sealed (at
 * rest) and masked (every API read). Editing with a masked value (`••••`) keeps the stored one.
 */
import {
  MASK,
  formatHeaderLines,
  parseHeaderLines,
  secretHeader,
  type HttpConfig,
  type IntegrationOptions,
  type SoapConfig,
} from './integration.js';

/** Seals and opens secret strings (AES-GCM with CALLHOOK_SECRET_KEY; see src/security/). */
export interface SecretSealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

export type AnyConfig = HttpConfig | SoapConfig;

export interface SecretProblem {
  [key: string]: unknown;
  field: string;
  line?: number;
  message: string;
}

/**
 * What a secret's masked value would keep: the stored value, nothing, or no telling which (two
 * same-named secrets were stored and a different number came back).
 */
type Previous = string | undefined | { unclear: string };

type Transform = (value: string, field: string, previous: Previous, line?: number) => string;

/**
 * Matches the secrets of one name to those stored under it: one stored value is the one any mask
 * keeps; several are matched by rank (the second `Cookie` line keeps the second stored one) as long
 * as as many came back.
 */
function previousByName(stored: readonly { name: string; value: string }[], what: string) {
  const byName = new Map<string, string[]>();
  for (const { name, value } of stored) {
    const values = byName.get(name.toLowerCase()) ?? [];
    values.push(value);
    byName.set(name.toLowerCase(), values);
  }
  return (current: readonly { name: string }[]) => {
    const counts = new Map<string, number>();
    for (const { name } of current)
      counts.set(name.toLowerCase(), (counts.get(name.toLowerCase()) ?? 0) + 1);
    const seen = new Map<string, number>();
    return current.map(({ name }): Previous => {
      const key = name.toLowerCase();
      const rank = seen.get(key) ?? 0;
      seen.set(key, rank + 1);
      const values = byName.get(key) ?? [];
      if (values.length <= 1) return values[0];
      const came = counts.get(key)!;
      if (came === values.length) return values[rank];
      return {
        unclear: `${values.length} "${name}" ${what} were stored and ${came} came back`,
      };
    });
  };
}

/** Applies `fn` to every secret value, passing what its mask would keep in `previous`. */
function mapSecrets<C extends AnyConfig>(
  config: C,
  options: IntegrationOptions,
  previous: { config: AnyConfig; options: IntegrationOptions } | undefined,
  fn: Transform,
): { config: C; options: IntegrationOptions } {
  const secretLines = (headers: string) =>
    parseHeaderLines(headers).headers.filter((h) => secretHeader(h.name));
  const parsed = parseHeaderLines(config.headers);
  const headerPrevious = previousByName(
    secretLines(previous?.config.headers ?? ''),
    'lines',
  )(parsed.headers.filter((h) => secretHeader(h.name)));
  let secretRank = 0;
  const headers =
    parsed.problems.length > 0
      ? config.headers
      : formatHeaderLines(
          parsed.headers.map((h) =>
            secretHeader(h.name)
              ? {
                  name: h.name,
                  value: fn(h.value, 'config.headers', headerPrevious[secretRank++], h.line),
                }
              : h,
          ),
        );
  let next: AnyConfig = { ...config, headers };
  if ('params' in next) {
    const soap = next;
    const prevSoap =
      previous !== undefined && 'params' in previous.config ? previous.config : undefined;
    const paramPrevious = previousByName(
      (prevSoap?.params ?? []).filter((p) => p.secret),
      'parameters',
    )(soap.params.filter((p) => p.secret));
    let paramRank = 0;
    next = {
      ...soap,
      params: soap.params.map((p, i) =>
        p.secret
          ? { ...p, value: fn(p.value, `config.params.${i}.value`, paramPrevious[paramRank++]) }
          : p,
      ),
      ...(soap.wsSecurity === undefined
        ? {}
        : {
            wsSecurity: {
              username: soap.wsSecurity.username,
              password: fn(
                soap.wsSecurity.password,
                'config.wsSecurity.password',
                prevSoap?.wsSecurity?.password,
              ),
            },
          }),
    };
  }
  let nextOptions = options;
  if (options.signing !== undefined) {
    const prev = previous?.options.signing;
    const signing = {
      ...options.signing,
      secret: fn(options.signing.secret, 'options.signing.secret', prev?.secret),
    };
    if (options.signing.previousSecret !== undefined) {
      signing.previousSecret = fn(
        options.signing.previousSecret,
        'options.signing.previousSecret',
        prev?.previousSecret,
      );
    }
    nextOptions = { ...options, signing };
  }
  return { config: next as C, options: nextOptions };
}

/**
 * A rotation: a new signing secret typed beside `previousSecret: "••••"` makes the mask keep the
 * secret stored until now (a console never holds it to send it back). The same secret sent again
 * is no rotation: the mask keeps the stored previous secret, whose grace period goes on.
 */
function rotated(
  options: IntegrationOptions,
  sealer: SecretSealer,
  previous: { config: AnyConfig; options: IntegrationOptions } | undefined,
): { config: AnyConfig; options: IntegrationOptions } | undefined {
  const signing = options.signing;
  const stored = previous?.options.signing;
  if (
    previous === undefined ||
    stored === undefined ||
    signing === undefined ||
    signing.secret === MASK ||
    signing.previousSecret !== MASK ||
    sealer.open(stored.secret) === signing.secret
  ) {
    return previous;
  }
  return {
    ...previous,
    options: { ...previous.options, signing: { ...stored, previousSecret: stored.secret } },
  };
}

/**
 * The stored form of a new version: secret values sealed. A value equal to the mask keeps the
 * previous version's (sealed) value; a mask with nothing to keep is a problem.
 */
export function sealSecrets<C extends AnyConfig>(
  config: C,
  options: IntegrationOptions,
  sealer: SecretSealer,
  previousSealed?: { config: AnyConfig; options: IntegrationOptions },
): { config: C; options: IntegrationOptions; problems: SecretProblem[] } {
  const problems: SecretProblem[] = [];
  const result = mapSecrets(
    config,
    options,
    rotated(options, sealer, previousSealed),
    (value, field, previous, line) => {
      if (value === MASK) {
        if (typeof previous === 'string') return previous;
        problems.push({
          field,
          ...(line === undefined ? {} : { line }),
          message: `"${MASK}" keeps a stored secret, but ${previous === undefined ? 'there is none here' : previous.unclear}: type the value`,
        });
        return value;
      }
      return sealer.seal(value);
    },
  );
  // A mask where no secret is kept (a header that is not secret, a parameter no longer marked
  // secret) would be sent as the literal "••••": refuse it rather than lose the value.
  for (const h of parseHeaderLines(config.headers).headers) {
    if (!secretHeader(h.name) && h.value === MASK) {
      problems.push({
        field: 'config.headers',
        line: h.line,
        message: `"${MASK}" is not a value: type it`,
      });
    }
  }
  if ('params' in config) {
    config.params.forEach((p, i) => {
      if (!p.secret && p.value === MASK) {
        problems.push({
          field: `config.params.${i}.value`,
          message: `"${MASK}" is not a value: type it (or keep the parameter marked secret)`,
        });
      }
    });
  }
  return { ...result, problems };
}

/** What the API shows: every secret value replaced by the mask. */
export function maskSecrets<C extends AnyConfig>(
  config: C,
  options: IntegrationOptions,
): { config: C; options: IntegrationOptions } {
  return mapSecrets(config, options, undefined, () => MASK);
}

/** What a worker sends: every sealed value opened. */
export function openSecrets<C extends AnyConfig>(
  config: C,
  options: IntegrationOptions,
  sealer: SecretSealer,
): { config: C; options: IntegrationOptions } {
  return mapSecrets(config, options, undefined, (value) => sealer.open(value));
}

/**
 * Every plain secret value of a (plain) integration, to mask them in attempt logs, with the parts
 * a remote may quote on their own: the credentials of an `Authorization` (or
 * `Proxy-Authorization`) value without its scheme (`Bearer abc…` → `abc…`), Basic credentials
 * decoded (`user:password`, and the password), each cookie of a `Cookie` value and its value
 * alone, and a signing secret without its `whsec_` prefix.
 */
export function secretValues(config: AnyConfig, options: IntegrationOptions): string[] {
  const values: string[] = [];
  mapSecrets(config, options, undefined, (value) => {
    if (value.length >= 4) values.push(value);
    return value;
  });
  for (const h of parseHeaderLines(config.headers).headers) {
    const name = h.name.toLowerCase();
    if (CREDENTIAL_HEADERS.has(name)) values.push(...credentialsOf(h.value));
    if (name === 'cookie') values.push(...cookieValuesOf(h.value));
  }
  for (const secret of [options.signing?.secret, options.signing?.previousSecret]) {
    if (secret?.startsWith(SIGNING_PREFIX)) values.push(secret.slice(SIGNING_PREFIX.length));
  }
  return values.filter((value) => value.length >= 4);
}

const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization']);
const SIGNING_PREFIX = 'whsec_';

/** `a=1; session=abc…` (RFC 6265 §4.2): each cookie, and each cookie's value alone. */
function cookieValuesOf(value: string): string[] {
  return value.split(';').flatMap((pair) => {
    const cookie = pair.trim();
    const equals = cookie.indexOf('=');
    return equals < 0 ? [cookie] : [cookie, cookie.slice(equals + 1).trim()];
  });
}

/** `Scheme credentials` (RFC 9110 §11.4): the credentials, and for Basic what they encode. */
function credentialsOf(value: string): string[] {
  const match = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \t]+(\S[\s\S]*)$/.exec(value.trim());
  if (match === null) return [];
  const credentials = match[1]!.trim();
  const found = [credentials];
  if (/^basic\s/i.test(value.trim()) && /^[A-Za-z0-9+/]+=*$/.test(credentials)) {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) found.push(decoded, decoded.slice(colon + 1));
  }
  return found;
}
