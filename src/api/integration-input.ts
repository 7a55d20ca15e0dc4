/**
 * Turns a request's `config` and `options` into the domain's shapes: defaults filled, every problem
 * named by field (all at once), templates checked by the token language, secrets sealed.
 */
import { Value } from 'typebox/value';
import { Settings } from 'typebox/system';
import type { TSchema } from 'typebox';
import { schemaMessage, type ErrorDetail } from '../errors.js';
import { signingKey, SigningSecretError } from '../delivery/signing.js';
import { pathProblem } from '../delivery/response-variables.js';
import { HttpConfigIn, OptionsIn, SoapConfigIn } from './integrations.schemas.js';
import type {
  HttpConfig,
  IntegrationOptions,
  IntegrationType,
  SoapConfig,
} from '../domain/integration.js';

// Report every problem of a definition, not only the first few (typebox stops at 8 by default).
Settings.Set({ maxErrors: 200 });

interface SchemaIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/** Checks `value` against `schema` after filling defaults; problems carry dotted field names. */
export function checkShape<T>(
  schema: TSchema,
  value: unknown,
  prefix: string,
): { value: T; problems: ErrorDetail[] } {
  const withDefaults = Value.Default(schema, Value.Clone(value ?? {})) as T;
  const problems: ErrorDetail[] = [];
  for (const issue of Value.Errors(schema, withDefaults) as unknown as SchemaIssue[]) {
    const base = [prefix, ...issue.instancePath.split('/').filter(Boolean)].join('.');
    if (issue.keyword === 'boolean') continue; // reported again as additionalProperties
    if (issue.keyword === 'required') {
      for (const name of (issue.params['requiredProperties'] as string[] | undefined) ?? []) {
        problems.push({ field: `${base}.${name}`, message: 'is required' });
      }
    } else if (issue.keyword === 'additionalProperties') {
      for (const name of (issue.params['additionalProperties'] as string[] | undefined) ?? []) {
        problems.push({ field: `${base}.${name}`, message: 'is not a known field' });
      }
    } else if (!problems.some((p) => p.field === base)) {
      // One message per field: a union reports each branch it tried.
      problems.push({ field: base, message: schemaMessage(issue.message, issue.params) });
    }
  }
  return { value: withDefaults, problems };
}

export type IntegrationConfig = HttpConfig | SoapConfig;

export function checkConfigAndOptions(
  type: IntegrationType,
  config: unknown,
  options: unknown,
): { config: IntegrationConfig; options: IntegrationOptions; problems: ErrorDetail[] } {
  const configResult = checkShape<IntegrationConfig>(
    type === 'http' ? HttpConfigIn : SoapConfigIn,
    config,
    'config',
  );
  const optionsResult = checkShape<IntegrationOptions>(OptionsIn, options, 'options');
  const problems = [...configResult.problems, ...optionsResult.problems];
  const opts = optionsResult.value;
  if (optionsResult.problems.length === 0) {
    const names = new Set<string>();
    opts.responseVariables.forEach((v, i) => {
      if (v.name === 'status' || v.name === 'body') {
        problems.push({
          field: `options.responseVariables.${i}.name`,
          message: `"${v.name}" is always set by Callhook (the response's ${v.name}); choose another name`,
        });
      }
      if (names.has(v.name))
        problems.push({
          field: `options.responseVariables.${i}.name`,
          message: `"${v.name}" is defined twice`,
        });
      names.add(v.name);
      // A text answer is read whole, whatever the path says.
      const text =
        type === 'http' && (configResult.value as HttpConfig).responseEncoding === 'text';
      const problem = text ? undefined : pathProblem(v.path);
      if (problem !== undefined) {
        problems.push({
          field: `options.responseVariables.${i}.path`,
          line: 1,
          column: problem.column,
          message: `"${v.path}": ${problem.message}`,
        });
      }
    });
    if (opts.signing !== undefined) {
      for (const key of ['secret', 'previousSecret'] as const) {
        const secret = opts.signing[key];
        if (secret !== undefined && secret !== '••••' && !isSigningSecret(secret)) {
          problems.push({
            field: `options.signing.${key}`,
            message: 'must be whsec_ followed by base64 (with its = padding) of 24 to 64 bytes',
          });
        }
      }
    }
  }
  return { config: configResult.value, options: opts, problems };
}

/** A secret `signingKey` reads (what signs must be what was saved), of 24 to 64 bytes. */
function isSigningSecret(secret: string): boolean {
  try {
    const bytes = signingKey(secret).length;
    return bytes >= 24 && bytes <= 64;
  } catch (error) {
    if (error instanceof SigningSecretError) return false;
    throw error;
  }
}
