/**
 * The outbound HTTP client of integrations: undici keep-alive pools per origin, every connection
 * checked by the network policy (safe-connect.ts), a whole-request deadline, redirects only when
 * asked, and a capped response body, decoded when compressed. `send()` answers an outcome value;
 * a remote's failure (refusal, timeout, reset, TLS error, any status) is never thrown.
 * docs/transport.md has the full behaviour.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { KEPT_BODY_BYTES } from './body-text.js';
import { REDIRECT_STATUSES, redirectHop, type Hop } from './redirect-hop.js';
import { Exchange, type BodyLimits } from './http-exchange.js';
import type { NetworkPolicy } from './network-policy.js';
import { NetworkPolicyError, policyConnector, type ConnectorOptions } from './safe-connect.js';

/** Bytes of a response body kept in the outcome: what the attempt log and IVR variables keep. */
export const DEFAULT_MAX_BODY_BYTES = KEPT_BODY_BYTES;
/** Bytes read and thrown away past the kept part before the connection is dropped instead. */
export const DEFAULT_MAX_DRAIN_BYTES = 1024 * 1024;

export type Header = [name: string, value: string];

export interface HttpRequest {
  method: string;
  /** Absolute `http:` or `https:` URL. User info (`user:pass@`) becomes Basic authorization. */
  url: string;
  /** Sent in this order; repeated names are sent repeatedly. */
  headers: readonly (readonly [string, string])[];
  body?: string | Buffer;
  /** Whole-request deadline: connect, every redirect hop, headers and body. */
  timeoutMs: number;
  /**
   * The deadline a timeout's message names, when `timeoutMs` is what is left of a longer one (an
   * IVR invocation's, less what came before the request); default `timeoutMs`.
   */
  statedTimeoutMs?: number | undefined;
  /** Redirects to follow; 0 (default) answers the 3xx response itself. */
  maxRedirects?: number;
}

export interface SendOptions {
  /** Cancels the request (e.g. at shutdown): the outcome is a network-error `ABORTED`. */
  signal?: AbortSignal;
}

export interface ResponseOutcome {
  kind: 'response';
  status: number;
  /** Lower-case names, in arrival order per name; repeated headers appear once per value. */
  headers: Header[];
  /**
   * The first `maxBodyBytes` of the body, decoded when it came with a `Content-Encoding` (gzip,
   * deflate, br).
   */
  body: Buffer;
  /** True when the (decoded) body had more bytes than were kept. */
  bodyTruncated: boolean;
  /**
   * Bytes received, as sent (compressed or not); a lower bound when the rest was not read (over
   * the drain limit).
   */
  bodyBytes: number;
  /**
   * Why the body could not be decoded: a `Content-Encoding` Callhook does not read (`body` is
   * then empty), or data that is not what its encoding says (`body` is what was decoded first).
   */
  bodyError?: string;
  durationMs: number;
  /** The URL that answered (differs from the request's after redirects). */
  url: string;
  redirects: number;
}

export interface TimeoutOutcome {
  kind: 'timeout';
  /** Where the time ran out: opening the connection, waiting for headers, or reading the body. */
  phase: 'connect' | 'headers' | 'body';
  message: string;
  durationMs: number;
}

export interface NetworkErrorOutcome {
  kind: 'network-error';
  /** `ECONNREFUSED`, `ENOTFOUND`, `UND_ERR_SOCKET`, a TLS code like `CERT_HAS_EXPIRED`, `ABORTED`… */
  code: string;
  message: string;
  durationMs: number;
}

export interface RefusedOutcome {
  kind: 'refused';
  /** Names the host, the address and the range the network policy refused. */
  reason: string;
  durationMs: number;
}

export interface InvalidRequestOutcome {
  kind: 'invalid-request';
  /** What is wrong with the request (URL, method or a header), nothing was sent. */
  reason: string;
}

export type HttpOutcome =
  ResponseOutcome | TimeoutOutcome | NetworkErrorOutcome | RefusedOutcome | InvalidRequestOutcome;

export interface HttpClientOptions extends ConnectorOptions {
  policy: NetworkPolicy;
  /** Connections per origin (default 64); more concurrent requests queue. */
  connectionsPerOrigin?: number;
  /** How long an idle keep-alive connection is kept (default 4 s; the server's hint wins if shorter). */
  keepAliveTimeoutMs?: number;
  maxBodyBytes?: number;
  maxDrainBytes?: number;
  /** Sent when the request has no User-Agent header. */
  userAgent?: string;
}

/** Why the deadline or the caller ended a request; compared by identity. */
const DEADLINE = new Error('deadline');
const CANCELLED = new Error('cancelled');

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * ### Examples
 * ```ts
 * const client = new HttpClient({ policy: new NetworkPolicy(config.allowNetworks) });
 * const outcome = await client.send({
 *   method: 'POST', url: 'https://crm.example/calls', timeoutMs: 5000,
 *   headers: [['content-type', 'application/json']], body: '{"status":"answered"}',
 * });
 * if (outcome.kind === 'response' && outcome.status < 300) { … }
 * await client.close();
 * ```
 */
export class HttpClient {
  private readonly agent: Agent;
  private readonly limits: BodyLimits;
  /** Sent when a request names no User-Agent (callers that record a request show it). */
  readonly userAgent: string;

  constructor(options: HttpClientOptions) {
    this.agent = new Agent({
      connect: policyConnector(options.policy, options),
      connections: options.connectionsPerOrigin ?? 64,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
      // The request deadline bounds waiting for headers and body; undici's own clocks would
      // only add a second, different limit.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    this.limits = {
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      maxDrainBytes: options.maxDrainBytes ?? DEFAULT_MAX_DRAIN_BYTES,
    };
    this.userAgent = options.userAgent ?? 'Callhook/0.1';
  }

  /** Sends one request (following redirects if asked) and answers its outcome; never throws. */
  async send(request: HttpRequest, options: SendOptions = {}): Promise<HttpOutcome> {
    const started = performance.now();
    const first = this.firstHop(request);
    if (typeof first === 'string') return { kind: 'invalid-request', reason: first };
    if (!Number.isFinite(request.timeoutMs) || request.timeoutMs <= 0) {
      return {
        kind: 'invalid-request',
        reason: `timeoutMs must be a positive number, got ${request.timeoutMs}`,
      };
    }

    // One deadline for the whole chain of hops; the exchange in flight is the one it stops.
    let current: Exchange | undefined;
    let stopped: Error | undefined;
    const stop = (reason: Error): void => {
      stopped ??= reason;
      current?.stop(reason);
    };
    const timer = setTimeout(stop, request.timeoutMs, DEADLINE);
    const cancel = (): void => stop(CANCELLED);
    options.signal?.addEventListener('abort', cancel, { once: true });
    if (options.signal?.aborted === true) cancel();
    let hop = first;
    let redirects = 0;
    try {
      for (;;) {
        const exchange = new Exchange(this.limits);
        current = exchange;
        if (stopped !== undefined) exchange.stop(stopped);
        else {
          this.agent.dispatch(
            {
              origin: hop.url.origin,
              path: hop.url.pathname + hop.url.search,
              method: hop.method as Dispatcher.HttpMethod,
              headers: flatHeaders(hop.headers),
              body: hop.body ?? null,
            },
            exchange,
          );
        }
        const result = await exchange.result;
        if (result.kind !== 'response') {
          return outcomeOf(result.kind === 'failed' ? result.error : result.reason, {
            durationMs: elapsed(started),
            deadline:
              result.kind === 'stopped' && result.reason === DEADLINE
                ? (request.statedTimeoutMs ?? request.timeoutMs)
                : undefined,
            cancelled: result.kind === 'stopped' && result.reason === CANCELLED,
            phase: result.phase,
            hop: redirects > 0 ? hop.url.href : undefined,
          });
        }
        const location = result.headers['location'];
        const next =
          REDIRECT_STATUSES.has(result.status) &&
          redirects < (request.maxRedirects ?? 0) &&
          typeof location === 'string'
            ? redirectHop(hop, result.status, location)
            : undefined;
        if (next === undefined) {
          return {
            kind: 'response',
            status: result.status,
            headers: headerList(result.headers),
            body: result.body,
            bodyTruncated: result.truncated,
            bodyBytes: result.bytes,
            ...(result.bodyError === undefined ? {} : { bodyError: result.bodyError }),
            durationMs: elapsed(started),
            url: hop.url.href,
            redirects,
          };
        }
        hop = next;
        redirects += 1;
      }
    } catch (error) {
      // dispatch() throws synchronously for arguments undici refuses (and on a closed client).
      return outcomeOf(error, {
        durationMs: elapsed(started),
        deadline: undefined,
        cancelled: false,
        phase: 'headers',
        hop: redirects > 0 ? hop.url.href : undefined,
      });
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', cancel);
    }
  }

  /** Closes idle connections and waits for in-flight requests to finish. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Validates the request into its first hop, or says what is wrong. */
  private firstHop(request: HttpRequest): Hop | string {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return `url "${request.url}" is not an absolute URL`;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return `url "${request.url}" must be http: or https:, not ${url.protocol}`;
    }
    if (!METHOD.test(request.method)) return `method "${request.method}" is not an HTTP method`;
    const headers: (readonly [string, string])[] = [];
    let hasUserAgent = false;
    let hasAuthorization = false;
    for (const [index, [name, value]] of request.headers.entries()) {
      if (!METHOD.test(name)) return `header ${index + 1}: "${name}" is not a valid header name`;
      if (/[\r\n\0]/.test(value)) {
        return `header ${index + 1} (${name}): the value contains CR, LF or NUL`;
      }
      const lower = name.toLowerCase();
      hasUserAgent ||= lower === 'user-agent';
      hasAuthorization ||= lower === 'authorization';
      headers.push([name, value]);
    }
    if (!hasUserAgent) headers.push(['user-agent', this.userAgent]);
    if (url.username !== '' || url.password !== '') {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      if (!hasAuthorization) {
        headers.push([
          'authorization',
          `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
        ]);
      }
      url.username = '';
      url.password = '';
    }
    return { url, method: request.method.toUpperCase(), headers, body: request.body };
  }
}

/** `[[n, v], …]` → `[n, v, …]` as undici takes them (a loop: `Array.prototype.flat` is slow). */
function flatHeaders(headers: readonly (readonly [string, string])[]): string[] {
  const flat: string[] = new Array<string>(headers.length * 2);
  for (let i = 0; i < headers.length; i += 1) {
    const header = headers[i] as readonly [string, string];
    flat[2 * i] = header[0];
    flat[2 * i + 1] = header[1];
  }
  return flat;
}

function headerList(headers: IncomingHttpHeaders): Header[] {
  const list: Header[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (Array.isArray(value)) for (const one of value) list.push([name, one]);
    else if (value !== undefined) list.push([name, value]);
  }
  return list;
}

interface Failure {
  durationMs: number;
  /** The deadline in ms when it is what ended the request. */
  deadline: number | undefined;
  cancelled: boolean;
  phase: 'headers' | 'body';
  /** The redirect target being fetched, when the failure is on a redirect hop. */
  hop: string | undefined;
}

function outcomeOf(error: unknown, failure: Failure): HttpOutcome {
  const { durationMs } = failure;
  const found = error instanceof Error ? error : new Error(String(error));
  const code = (found as NodeJS.ErrnoException).code ?? found.name;
  const onHop = failure.hop === undefined ? '' : `redirect to ${failure.hop}: `;
  if (found instanceof NetworkPolicyError) {
    return { kind: 'refused', reason: onHop + found.reason, durationMs };
  }
  if (failure.deadline !== undefined) {
    return {
      kind: 'timeout',
      phase: failure.phase,
      message: onHop + deadlineReason(failure.deadline, failure.phase),
      durationMs,
    };
  }
  if (failure.cancelled) {
    return {
      kind: 'network-error',
      code: 'ABORTED',
      message: `${onHop}request cancelled`,
      durationMs,
    };
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return { kind: 'timeout', phase: 'connect', message: onHop + found.message, durationMs };
  }
  if (code === 'UND_ERR_INVALID_ARG') return { kind: 'invalid-request', reason: found.message };
  return { kind: 'network-error', code, message: onHop + describeError(found), durationMs };
}

/**
 * What a request's deadline cut short, as a timeout's message says it: `no response within the
 * 2500 ms deadline`, or in the `body` phase `the response body was not complete within …`.
 */
export function deadlineReason(deadlineMs: number, phase: 'headers' | 'body' = 'headers'): string {
  const what = phase === 'body' ? 'the response body was not complete' : 'no response';
  return `${what} within the ${deadlineMs} ms deadline`;
}

function describeError(error: Error): string {
  if (error.message !== '') return error.message;
  return error.cause instanceof Error ? error.cause.message : error.name;
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
