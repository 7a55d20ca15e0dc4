/**
 * What one attempt came to, independent of the transport that made it. The HTTP and SOAP
 * clients' outcomes map onto this union (`fromHttpOutcome`, `fromSoapOutcome`); the retry policy
 * and the circuit read only this.
 */
import type { HttpOutcome } from '../transport/http-client.js';
import type { SoapOutcome } from '../transport/soap-client.js';

export type HeaderPair = readonly [name: string, value: string];

export type DeliveryOutcome =
  /** The remote answered with an HTTP status (for SOAP: an answer without a Fault). */
  | {
      kind: 'response';
      status: number;
      /** Lower-case names. */
      headers: readonly HeaderPair[];
      body?: Buffer | string;
      /** `body` is only the start of a longer body (the HTTP client keeps the first 64 KiB). */
      bodyTruncated?: boolean;
      /** Why the body could not be decoded (its Content-Encoding); see HttpClient. */
      bodyError?: string;
      durationMs: number;
    }
  /** The whole-request deadline passed. */
  | { kind: 'timeout'; message: string; durationMs: number }
  /** Connection refused or reset, DNS failure, TLS error, an unreachable WSDL… */
  | { kind: 'network-error'; code: string; message: string; durationMs: number }
  /** The network policy refused the destination: retrying cannot help until the policy changes. */
  | { kind: 'refused'; reason: string }
  /** A SOAP Fault: Server/Receiver faults are retryable, Client/Sender ones are not. */
  | {
      kind: 'soap-fault';
      retryable: boolean;
      /** As the server wrote it: `soap:Server`, `env:Sender`. */
      code: string;
      /** The SOAP 1.2 subcode, when given. */
      subcode?: string;
      /** The fault string (1.1 faultstring, 1.2 Reason/Text), without the code. */
      message: string;
      status?: number;
      headers?: readonly HeaderPair[];
      durationMs: number;
    }
  /**
   * A SOAP call answered 2xx with a body that is not a SOAP envelope (a proxy's or a login page):
   * the remote answered, but not as its WSDL says. Not retried: the same request meets the same
   * page.
   */
  | {
      kind: 'not-soap';
      status: number;
      headers: readonly HeaderPair[];
      message: string;
      durationMs: number;
    }
  /**
   * A SOAP call's answer was larger than 16 MiB (MAX_SOAP_RESPONSE_BYTES) and was read no further;
   * `status` is its status, when its head had come. Not retried: the remote answered (and may have
   * acted on the request), and the same request meets the same answer.
   */
  | { kind: 'response-too-large'; status?: number; message: string; durationMs: number }
  /**
   * Nothing was sent because the request could not be built: a template that renders an invalid
   * URL, a header value with a line break, a SOAP parameter the WSDL does not know.
   */
  | { kind: 'render-error'; reason: string };

/** Maps an `HttpClient.send()` outcome. */
export function fromHttpOutcome(outcome: HttpOutcome): DeliveryOutcome {
  switch (outcome.kind) {
    case 'response':
      return {
        kind: 'response',
        status: outcome.status,
        headers: outcome.headers,
        body: outcome.body,
        bodyTruncated: outcome.bodyTruncated,
        ...(outcome.bodyError === undefined ? {} : { bodyError: outcome.bodyError }),
        durationMs: outcome.durationMs,
      };
    case 'timeout':
      return { kind: 'timeout', message: outcome.message, durationMs: outcome.durationMs };
    case 'network-error':
      return {
        kind: 'network-error',
        code: outcome.code,
        message: outcome.message,
        durationMs: outcome.durationMs,
      };
    case 'refused':
      return { kind: 'refused', reason: outcome.reason };
    case 'invalid-request':
      return { kind: 'render-error', reason: outcome.reason };
  }
}

/** Maps a `SoapClient.call()` outcome. */
export function fromSoapOutcome(outcome: SoapOutcome): DeliveryOutcome {
  const headersOf = (record: Record<string, string>): HeaderPair[] =>
    Object.entries(record).map(([name, value]) => [name.toLowerCase(), value] as const);
  switch (outcome.kind) {
    case 'success':
    case 'http_error':
      return {
        kind: 'response',
        status: outcome.response.status,
        headers: headersOf(outcome.response.headers),
        body: outcome.response.body,
        durationMs: outcome.durationMs,
      };
    case 'invalid_response':
      return {
        kind: 'not-soap',
        status: outcome.response.status,
        headers: headersOf(outcome.response.headers),
        message: outcome.message,
        durationMs: outcome.durationMs,
      };
    case 'fault':
      return {
        kind: 'soap-fault',
        retryable: outcome.retryable,
        code: outcome.fault.code,
        ...(outcome.fault.subcode === undefined ? {} : { subcode: outcome.fault.subcode }),
        message: outcome.fault.string,
        status: outcome.response.status,
        headers: headersOf(outcome.response.headers),
        durationMs: outcome.durationMs,
      };
    case 'timeout':
      return { kind: 'timeout', message: outcome.message, durationMs: outcome.durationMs };
    case 'network_error':
    case 'wsdl_unreachable':
      return {
        kind: 'network-error',
        code: outcome.kind === 'wsdl_unreachable' ? 'WSDL_UNREACHABLE' : 'NETWORK_ERROR',
        message: outcome.message,
        durationMs: outcome.durationMs,
      };
    case 'response_too_large':
      return {
        kind: 'response-too-large',
        ...(outcome.head === undefined ? {} : { status: outcome.head.status }),
        message: outcome.message,
        durationMs: outcome.durationMs,
      };
    case 'refused':
      return { kind: 'refused', reason: outcome.message };
    case 'wsdl_invalid':
    case 'invalid':
      return { kind: 'render-error', reason: outcome.message };
  }
}

/**
 * What an outcome says about the remote's health, for its circuit: `up` (it answered, even with a
 * 4xx), `down` (a failure worth retrying: it is unreachable, slow or overloaded), `none` (nothing
 * reached it).
 */
export function endpointHealth(outcome: DeliveryOutcome): 'up' | 'down' | 'none' {
  switch (outcome.kind) {
    case 'response':
      return outcome.status === 408 || outcome.status === 429 || outcome.status >= 500
        ? 'down'
        : 'up';
    case 'timeout':
    case 'network-error':
      return 'down';
    case 'soap-fault':
      return outcome.retryable ? 'down' : 'up';
    case 'not-soap':
    case 'response-too-large':
      return 'up';
    case 'refused':
    case 'render-error':
      return 'none';
  }
}

/** One line for people and for `deliveries.last_error`. */
export function describeOutcome(outcome: DeliveryOutcome): string {
  switch (outcome.kind) {
    case 'response':
      return `HTTP ${outcome.status}`;
    case 'timeout':
      return `timeout: ${outcome.message}`;
    case 'network-error':
      return `network error ${outcome.code}: ${outcome.message}`;
    case 'refused':
      return `refused by the network policy: ${outcome.reason}`;
    case 'soap-fault':
      return `SOAP fault ${outcome.code}${outcome.subcode === undefined ? '' : ` (${outcome.subcode})`}: ${outcome.message}`;
    case 'not-soap':
    case 'response-too-large':
      return outcome.message;
    case 'render-error':
      return `request not sent: ${outcome.reason}`;
  }
}
