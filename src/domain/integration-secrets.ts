/**
 * Which parts of an integration are secret, and their three forms: plain (workers), sealed (at
 * rest) and masked (every API read). Editing with a masked value (`••••`) keeps the stored one.
 */
import {
  MASK,
  type HeaderLine,
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

type Transform = (
  value: string,
  field: string,
  previous: string | undefined,
  line?: number,
) => string;

/** Applies `fn` to every secret value, passing the value of the same secret in `previous`. */
function mapSecrets<C extends AnyConfig>(
  config: C,
  options: IntegrationOptions,
  previous: { config: AnyConfig; options: IntegrationOptions } | undefined,
  fn: Transform,
): { config: C; options: IntegrationOptions } {
  // A header's previous value is the one of the same name at the same rank (two `Cookie` lines
  // keep their own values).
  const ranked = (headers: readonly HeaderLine[]) => {
    const seen = new Map<string, number>();
    return headers.map((h) => {
      const name = h.name.toLowerCase();
      const rank = seen.get(name) ?? 0;
      seen.set(name, rank + 1);
      return { ...h, key: `${name}#${rank}` };
    });
  };
  const prevHeaders = new Map(
    ranked(parseHeaderLines(previous?.config.headers ?? '').headers).map((h) => [h.key, h.value]),
  );
  const parsed = parseHeaderLines(config.headers);
  const current = ranked(parsed.headers);
  const headers =
    parsed.problems.length > 0
      ? config.headers
      : formatHeaderLines(
          current.map((h) =>
            secretHeader(h.name)
              ? {
                  name: h.name,
                  value: fn(h.value, 'config.headers', prevHeaders.get(h.key), h.line),
                }
              : h,
          ),
        );
  let next: AnyConfig = { ...config, headers };
  if ('params' in next) {
    const soap = next;
    const prevParams = new Map(
      previous !== undefined && 'params' in previous.config
        ? previous.config.params.map((p) => [p.name, p.value])
        : [],
    );
    const prevWs =
      previous !== undefined && 'params' in previous.config
        ? previous.config.wsSecurity
        : undefined;
    next = {
      ...soap,
      params: soap.params.map((p, i) =>
        p.secret
          ? { ...p, value: fn(p.value, `config.params.${i}.value`, prevParams.get(p.name)) }
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
                prevWs?.password,
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
  const result = mapSecrets(config, options, previousSealed, (value, field, previous, line) => {
    if (value === MASK) {
      if (previous !== undefined) return previous;
      problems.push({
        field,
        ...(line === undefined ? {} : { line }),
        message: `"${MASK}" keeps a stored secret, but there is none here: type the value`,
      });
      return value;
    }
    return sealer.seal(value);
  });
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

/** Every plain secret value of a (plain) integration, to mask them in attempt logs. */
export function secretValues(config: AnyConfig, options: IntegrationOptions): string[] {
  const values: string[] = [];
  mapSecrets(config, options, undefined, (value) => {
    if (value.length >= 4) values.push(value);
    return value;
  });
  return values;
}
