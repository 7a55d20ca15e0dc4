/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): `webhook-id`,
 * `webhook-timestamp` (seconds) and `webhook-signature`, a space-separated list of
 * `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the base64-decoded `whsec_` secret.
 * During a rotation the old and the new secret both sign, so a receiver holding either verifies.
 */
import { createHmac } from 'node:crypto';
import type { SigningOptions } from '../domain/integration.js';

const PREFIX = 'whsec_';

export class SigningSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SigningSecretError';
  }
}

/** The key bytes of a `whsec_…` secret; throws `SigningSecretError` saying what is wrong. */
export function signingKey(secret: string, field = 'options.signing.secret'): Buffer {
  if (!secret.startsWith(PREFIX)) {
    throw new SigningSecretError(`${field} must start with "${PREFIX}"`);
  }
  const encoded = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw new SigningSecretError(`${field} must be "${PREFIX}" followed by base64`);
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 16) {
    throw new SigningSecretError(`${field} must hold at least 16 bytes, has ${key.length}`);
  }
  return key;
}

/**
 * What is wrong with the secrets of `signing` (each the message of `signingKey`), by field: a
 * saved integration is checked with this, so a secret accepted is one that can sign.
 */
export function signingProblems(
  signing: SigningOptions | undefined,
): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  for (const key of ['secret', 'previousSecret'] as const) {
    const secret = signing?.[key];
    if (secret === undefined) continue;
    const field = `options.signing.${key}`;
    try {
      signingKey(secret, field);
    } catch (error) {
      if (!(error instanceof SigningSecretError)) throw error;
      problems.push({ field, message: error.message });
    }
  }
  return problems;
}

/**
 * The secrets that sign at `now`: the current one, and the previous one while its grace period
 * (`previousExpiresAt`, RFC 3339) has not ended.
 */
export function activeSecrets(signing: SigningOptions, now: number): string[] {
  const secrets = [signing.secret];
  if (signing.previousSecret !== undefined) {
    const until =
      signing.previousExpiresAt === undefined ? Number.NaN : Date.parse(signing.previousExpiresAt);
    if (Number.isFinite(until) && now < until) secrets.push(signing.previousSecret);
  }
  return secrets;
}

/** A type, not an interface: it is a header record (`Record<string, string>`) as well. */
export type SignatureHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/**
 * Signs one request body. `id` is the delivery id (constant across retries, as the standard
 * asks); `now` is milliseconds.
 *
 * ### Examples
 * ```ts
 * const headers = signWebhook(delivery.id, body, activeSecrets(options.signing, Date.now()), Date.now());
 * // { 'webhook-id': '0190…', 'webhook-timestamp': '1764237600', 'webhook-signature': 'v1,K5o…=' }
 * ```
 */
export function signWebhook(
  id: string,
  body: string | Buffer,
  secrets: readonly string[],
  now: number,
): SignatureHeaders {
  if (secrets.length === 0) throw new SigningSecretError('no signing secret given');
  const timestamp = String(Math.floor(now / 1000));
  const signatures = secrets.map((secret) => {
    const hmac = createHmac('sha256', signingKey(secret));
    hmac.update(`${id}.${timestamp}.`);
    hmac.update(body);
    return `v1,${hmac.digest('base64')}`;
  });
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signatures.join(' '),
  };
}
