/**
 * Integrations (SPEC §2): what a user defines, as the API and the workers see it. Pure types and
 * rules; templates are compiled by src/template/, secrets sealed by src/security/.
 */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export const RESPONSE_ENCODINGS = ['json', 'xml', 'text'] as const;
export type ResponseEncoding = (typeof RESPONSE_ENCODINGS)[number];

export interface HttpConfig {
  url: string;
  method: HttpMethod;
  /** Ignored for GET. */
  body: string;
  /** One `Name: value` per line; values are templates and secret (see secretHeader()). */
  headers: string;
  responseEncoding: ResponseEncoding;
  /** Redirects followed, each hop re-checked by the network policy; 0 = none (default). */
  maxRedirects: number;
}

export interface SoapParam {
  name: string;
  value: string;
  /** Sealed at rest and masked in reads, like a header value. */
  secret: boolean;
}

export interface SoapConfig {
  wsdlUrl: string;
  operation: string;
  service?: string;
  port?: string;
  params: SoapParam[];
  /** Extra HTTP headers, same format and secrecy as HttpConfig.headers. */
  headers: string;
  responseEncoding: 'xml';
  wsSecurity?: { username: string; password: string };
}

export interface RetryOptions {
  maxAttempts: number;
  /** Delay before attempt 2, 3, … in seconds; shorter than maxAttempts-1 repeats its last entry. */
  scheduleSeconds?: number[];
}

export interface SigningOptions {
  /** `whsec_` + base64; sealed at rest. */
  secret: string;
  /** The secret being rotated out: both sign until `previousExpiresAt`. */
  previousSecret?: string;
  previousExpiresAt?: string;
}

export interface ResponseVariable {
  name: string;
  path: string;
  default?: string;
}

export interface IntegrationOptions {
  timeoutMs: number;
  retry: RetryOptions;
  maxConcurrency?: number;
  ratePerSecond?: number;
  signing?: SigningOptions;
  successStatuses?: number[];
  responseVariables: ResponseVariable[];
  /** IVR answer cache: identical rendered requests within the TTL reuse the answer. */
  cacheTtlSeconds?: number;
}

export type IntegrationType = 'http' | 'soap';

interface IntegrationBase {
  id: string;
  ownerId: string;
  name: string;
  description: string;
  enabled: boolean;
  /** Set when Callhook disabled it (e.g. after a long failing streak). */
  disabledReason: string | null;
  version: number;
  options: IntegrationOptions;
  createdAt: string;
  updatedAt: string;
}

export type Integration =
  | (IntegrationBase & { type: 'http'; config: HttpConfig })
  | (IntegrationBase & { type: 'soap'; config: SoapConfig });

/**
 * The entity tag of what a read showed (the `ETag` of the integration routes): it changes with
 * every edit (a new version) and with an auto-disable, which turns the integration off without
 * one. A save sent `If-Match` with an older tag is refused, so it cannot undo what it never saw.
 *
 * ### Examples
 * `integrationTag({ version: 3, enabled: false })` is `"3-off"`.
 */
export function integrationTag(integration: { version: number; enabled: boolean }): string {
  return `"${integration.version}-${integration.enabled ? 'on' : 'off'}"`;
}

/**
 * Whether an edit's `If-Match` (its tags, `*` for any; undefined without the header) holds for
 * the integration as stored.
 */
export function ifMatchHolds(
  ifMatch: readonly string[] | undefined,
  integration: { version: number; enabled: boolean },
): boolean {
  return (
    ifMatch === undefined || ifMatch.includes('*') || ifMatch.includes(integrationTag(integration))
  );
}

/**
 * The smallest rate an integration's limit or an integration campaign takes: one every 28 hours.
 * A smaller one sets waits longer than the time columns hold.
 */
export const MIN_RATE_PER_SECOND = 0.00001;

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_IVR_TIMEOUT_MS = 3_000;
export const DEFAULT_MAX_ATTEMPTS = 8;
export const MASK = '••••';

/**
 * Header values are secret (sealed at rest, masked in reads) unless the header is one whose value
 * describes the request rather than authorises it.
 */
export const PLAIN_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'connection',
  'content-language',
  'content-length',
  'content-type',
  'host',
  'soapaction',
  'user-agent',
]);

/** Headers Callhook sets on every request (never from a template, never secret). */
export const CALLHOOK_HEADERS: readonly string[] = [
  'idempotency-key',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
];

export function secretHeader(name: string): boolean {
  return !PLAIN_HEADERS.has(name.trim().toLowerCase());
}

export interface HeaderLine {
  name: string;
  value: string;
  /** 1-based line in the headers text. */
  line: number;
}

/** Splits headers text into lines `Name: value`; blank lines are skipped. */
export function parseHeaderLines(text: string): {
  headers: HeaderLine[];
  problems: { line: number; message: string }[];
} {
  const headers: HeaderLine[] = [];
  const problems: { line: number; message: string }[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    if (raw.trim() === '') return;
    const colon = raw.indexOf(':');
    const name = colon < 0 ? '' : raw.slice(0, colon).trim();
    if (colon < 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      problems.push({
        line: index + 1,
        message: 'expected `Name: value` with a valid header name',
      });
      return;
    }
    headers.push({ name, value: raw.slice(colon + 1).trim(), line: index + 1 });
  });
  return { headers, problems };
}

export function formatHeaderLines(headers: readonly { name: string; value: string }[]): string {
  return headers.map((h) => `${h.name}: ${h.value}`).join('\n');
}
