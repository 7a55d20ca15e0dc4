/**
 * What a SOAP call came to (SoapOutcome), and how the exchange the soap package recorded is
 * turned into one: the request as sent with secrets masked, SOAP faults read from the parsed
 * envelope (1.1 and 1.2), HTTP statuses, and failures below HTTP.
 */
import { xmlEscape } from 'soap/lib/utils.js';
import type { SelectedOperation, SoapProblem, SoapVersion } from '../domain/soap.js';
import { faultRetryable } from '../domain/soap.js';
import { CALLHOOK_HEADERS, MASK, secretHeader } from '../domain/integration.js';
import { bodySnippet } from './body-text.js';
import { isSoapEnvelope } from './soap-envelope.js';
import { transportFailure, type AnswerHead, type Exchange } from './soap-http.js';
import type { WsdlFailure } from './wsdl-cache.js';

/** The request as sent, secrets masked: what the attempt log and the test endpoint show. */
export interface SoapRequestRecord {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  service: string;
  port: string;
  operation: string;
  soapVersion: SoapVersion;
  soapAction: string;
}

export interface SoapResponseRecord {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Why the body could not be decoded (its Content-Encoding); `body` is then empty. */
  bodyError?: string;
}

export interface SoapFault {
  /** As the server wrote it: `soap:Server`, `env:Sender`, `SOAP-ENV:Client.Auth`. */
  code: string;
  /** SOAP 1.2 subcode, when given. */
  subcode?: string;
  /** faultstring (1.1) or Reason/Text (1.2). */
  string: string;
  /** The fault's detail, as JSON text. */
  detail?: string;
}

interface OutcomeBase {
  /** Whether trying again later may succeed (see docs/soap.md, "Faults and retries"). */
  retryable: boolean;
  /** One line for people: what happened. */
  message: string;
  durationMs: number;
  request?: SoapRequestRecord;
  response?: SoapResponseRecord;
}

/**
 * What one call came to:
 * - `success`: HTTP 2xx with a SOAP body and no fault; `result` is the parsed output
 *   (IVR variables read dotted paths into it);
 * - `fault`: a SOAP Fault (whatever the HTTP status); Server/Receiver retryable;
 * - `http_error`: a non-2xx answer without a fault; 408, 429 and 5xx retryable;
 * - `invalid_response`: a 2xx answer that is not a SOAP envelope, or an empty one from an
 *   operation that has an output;
 * - `timeout`, `network_error`: retryable; `refused`: the network policy said no;
 * - `response_too_large`: the answer passed MAX_SOAP_RESPONSE_BYTES and was read no further
 *   (`head`: its status and headers, when they had come); not retryable: the remote answered,
 *   and the same request meets the same answer;
 * - `wsdl_unreachable` (retryable), `wsdl_invalid`: the WSDL could not be used (for
 *   `wsdl_invalid`, fetching it again gives the same answer: a status other than 408, 429 or 5xx,
 *   a redirect loop, a document that does not parse, a port address that is not http(s));
 * - `invalid`: the call itself does not fit the WSDL (unknown operation or parameter, a header
 *   value with a line break); `problems` says where.
 */
export type SoapOutcome =
  | (OutcomeBase & {
      kind: 'success';
      request: SoapRequestRecord;
      response: SoapResponseRecord;
      result: unknown;
    })
  | (OutcomeBase & {
      kind: 'fault';
      request: SoapRequestRecord;
      response: SoapResponseRecord;
      fault: SoapFault;
    })
  | (OutcomeBase & {
      kind: 'http_error' | 'invalid_response';
      request: SoapRequestRecord;
      response: SoapResponseRecord;
    })
  | (OutcomeBase & { kind: 'timeout' | 'network_error' | 'refused' })
  | (OutcomeBase & { kind: 'response_too_large'; head?: AnswerHead })
  | (OutcomeBase & { kind: 'wsdl_unreachable' | 'wsdl_invalid'; wsdl: WsdlFailure })
  | (OutcomeBase & { kind: 'invalid'; problems: SoapProblem[] });

/** The request as the soap package built it, secrets masked. */
export function recordOf(
  exchange: Exchange,
  selected: SelectedOperation,
  request: {
    params: readonly { value: string; secret?: boolean | undefined }[];
    headers?: Readonly<Record<string, string>> | undefined;
  },
): SoapRequestRecord | undefined {
  if (exchange.request === undefined) return undefined;
  const { service, port, operation } = selected;
  // Callhook's own headers (`Idempotency-Key`, the delivery id) come in beside the template's
  // and are shown as sent, as for HTTP.
  const secretHeaders = new Set(
    Object.keys(request.headers ?? {})
      .map((name) => name.toLowerCase())
      .filter((name) => secretHeader(name) && !CALLHOOK_HEADERS.includes(name)),
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(exchange.request.headers)) {
    headers[name] = secretHeaders.has(name.toLowerCase()) ? MASK : value;
  }
  let body = exchange.request.body.replace(
    /(<(\w+:)?Password\b[^>]*>)[^<]*(<\/(\w+:)?Password>)/g,
    `$1${MASK}$3`,
  );
  for (const param of request.params) {
    if (param.secret !== true || param.value === '') continue;
    // A parameter's value is the whole text of its element, written as the soap package
    // escapes it.
    body = body.split(`>${escapeText(param.value)}<`).join(`>${MASK}<`);
  }
  return {
    url: exchange.request.url,
    method: 'POST',
    headers,
    body,
    service: service.name,
    port: port.name,
    operation: operation.name,
    soapVersion: port.soapVersion,
    soapAction: operation.soapAction,
  };
}

/**
 * The soap package's own escaping of element text: besides `& < > " '` it writes tab, CR and LF
 * as `&#x9;`, `&#xD;`, `&#xA;`, and passes a whole `<![CDATA[…]]>` value through as it is. A
 * secret is found in the envelope only in exactly that form.
 */
const escapeText = xmlEscape as (value: string) => string;

/**
 * The outcome of an exchange that reached the soap package's callback. `operation` says whether
 * an answer is expected: only a one-way operation (no output) may be answered with an empty body.
 */
export function classify(
  invoked: { error: unknown; result: unknown },
  exchange: Exchange,
  request: SoapRequestRecord | undefined,
  durationMs: number,
  operation: { name: string; hasOutput: boolean },
): SoapOutcome {
  const response = exchange.response;
  if (request === undefined || response === undefined) {
    return {
      ...buildFailure(invoked.error),
      durationMs,
      ...(request === undefined ? {} : { request }),
    };
  }
  const base = { durationMs, request, response };
  const fault = faultOf(invoked.error);
  if (fault !== undefined) {
    const retryable = faultRetryable(fault.code);
    return {
      kind: 'fault',
      ...base,
      fault,
      retryable,
      message: `SOAP fault ${fault.code}${fault.subcode === undefined ? '' : ` (${fault.subcode})`}: ${fault.string}`,
    };
  }
  const status = response.status;
  if (status < 200 || status > 299) {
    return {
      kind: 'http_error',
      ...base,
      retryable: status >= 500 || status === 408 || status === 429,
      message:
        response.bodyError === undefined
          ? `HTTP ${status} without a SOAP fault`
          : `HTTP ${status}, and ${response.bodyError}`,
    };
  }
  const notSoap = (message: string): SoapOutcome => ({
    kind: 'invalid_response',
    ...base,
    retryable: false,
    message,
  });
  // Not read, so neither a SOAP answer nor an empty one: the remote answered, and the same request
  // meets the same encoding.
  if (response.bodyError !== undefined) return notSoap(`HTTP ${status}, but ${response.bodyError}`);
  if (response.body.trim() === '') {
    // A one-way operation's answer is HTTP 202 (or 200) with no envelope (WS-I Basic Profile).
    if (!operation.hasOutput) {
      return {
        kind: 'success',
        ...base,
        retryable: false,
        result: null,
        message: `HTTP ${status}`,
      };
    }
    return notSoap(
      `HTTP ${status} with an empty body, but ${operation.name} answers with a SOAP envelope`,
    );
  }
  // The soap package accepts any XML (and JSON) as an answer: `<status>ok</status>` would read
  // as a success with no result.
  if (!isSoapEnvelope(response.body)) {
    const type = contentType(response.headers);
    return notSoap(
      `HTTP ${status}, but the body is not a SOAP answer${type === '' ? '' : ` (${type})`}: ${bodySnippet(response.body)}`,
    );
  }
  if (invoked.error !== null) {
    return notSoap(
      `HTTP ${status}, but the body is not a SOAP answer: ${errorText(invoked.error).split('\n')[0] ?? ''}`,
    );
  }
  return {
    kind: 'success',
    ...base,
    retryable: false,
    result: simplify(invoked.result ?? null),
    message: `HTTP ${status}`,
  };
}

function contentType(headers: Record<string, string>): string {
  const entry = Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-type');
  return (entry?.[1] ?? '').split(';')[0]?.trim() ?? '';
}

/** An error's message; never `[object Object]`. */
function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return message;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/** A call that cannot be sent as configured; `problem` (default `message`) names the field's fault. */
function invalid(field: string, message: string, problem = message): SoapOutcome {
  return {
    kind: 'invalid',
    retryable: false,
    durationMs: 0,
    message,
    problems: [{ field, message: problem }],
  };
}

/** A failure before any response: the policy, the network, or the library refusing the input. */
export function buildFailure(error: unknown): SoapOutcome {
  const errorCode = (error as { code?: unknown } | null)?.code;
  const fromAxios =
    typeof errorCode === 'string' || (error as { isAxiosError?: unknown })?.isAxiosError === true;
  if (!fromAxios && error instanceof Error && !(error as { cause?: unknown }).cause) {
    return invalid(
      'config.params',
      `the SOAP library could not build the request: ${error.message}`,
      error.message,
    );
  }
  const failure = transportFailure(error, false);
  if (failure.kind === 'refused') {
    return { kind: 'refused', retryable: false, durationMs: 0, message: failure.message };
  }
  if (failure.kind === 'timeout') {
    return { kind: 'timeout', retryable: true, durationMs: 0, message: failure.message };
  }
  if (failure.kind === 'bad_url' || failure.kind === 'redirect_loop') {
    // The endpoint is checked before sending (soap-client.ts); this is what slips past that check.
    return invalid(
      'config.wsdlUrl',
      `the endpoint address cannot be requested: ${failure.message}`,
    );
  }
  if (failure.kind === 'request_too_large') {
    return invalid('config.params', `the envelope was not sent: ${failure.message}`);
  }
  if (failure.kind === 'too_large') {
    const { head } = failure;
    return {
      kind: 'response_too_large',
      retryable: false,
      durationMs: 0,
      message: head === undefined ? failure.message : `HTTP ${head.status}, but ${failure.message}`,
      ...(head === undefined ? {} : { head }),
    };
  }
  return { kind: 'network_error', retryable: true, durationMs: 0, message: failure.message };
}

/** The Fault the soap package found in the answer (it throws with the parsed envelope). */
function faultOf(error: unknown): SoapFault | undefined {
  const root = (error as { root?: unknown } | null)?.root as
    { Envelope?: { Body?: { Fault?: Record<string, unknown> } } } | undefined;
  const fault = root?.Envelope?.Body?.Fault;
  if (fault === undefined || fault === null || typeof fault !== 'object') return undefined;
  const detailOf = (value: unknown): { detail?: string } =>
    value === undefined
      ? {}
      : { detail: typeof value === 'string' ? value : JSON.stringify(value) };
  if ('faultcode' in fault || 'faultstring' in fault) {
    return {
      code: text(fault['faultcode']),
      string: text(fault['faultstring']),
      ...detailOf(fault['detail']),
    };
  }
  const code = fault['Code'] as { Value?: unknown; Subcode?: { Value?: unknown } } | undefined;
  const reason = fault['Reason'] as { Text?: unknown } | undefined;
  const subcode = code?.Subcode?.Value;
  return {
    code: text(code?.Value),
    ...(subcode === undefined ? {} : { subcode: text(subcode) }),
    string: text(reason?.Text),
    ...detailOf(fault['Detail']),
  };
}

/**
 * rpc/encoded answers type every value (`<receipt xsi:type="xsd:string">R-1</receipt>`), which
 * the soap package parses as `{attributes: {'xsi:type'}, $value}`; IVR variables want `R-1`.
 * Only plain objects are rebuilt (typed values come as the text written: soap-typed-text.ts
 * `TYPED_AS_TEXT`).
 */
function simplify(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(simplify);
  if (value === null || typeof value !== 'object') return value;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const attributes = record['attributes'];
  if (
    keys.length === 2 &&
    '$value' in record &&
    attributes !== null &&
    typeof attributes === 'object' &&
    Object.keys(attributes).every((name) => name.endsWith(':type'))
  ) {
    return record['$value'];
  }
  return Object.fromEntries(keys.map((key) => [key, simplify(record[key])]));
}

/** Text of a parsed element: a string, or `{$value}` when it had attributes (`xml:lang`). */
function text(value: unknown): string {
  if (Array.isArray(value)) return text(value[0]);
  if (value !== null && typeof value === 'object' && '$value' in value) {
    return String((value as { $value: unknown }).$value);
  }
  return value === undefined || value === null ? '' : String(value);
}
