/**
 * How the `soap` package reaches the network here: its own HttpClient (axios), handed the
 * policy-checked Node agents of safe-connect.ts, no proxy from the environment, size caps, and
 * a recording of the exchange, so Callhook's attempt log shows the request exactly as sent and
 * the response exactly as received. Also: turning the errors that come out of it into reasons.
 */
import { HttpClient } from 'soap';
import { charsetOf } from '../domain/media-type.js';
import { decodeBody } from './body-text.js';
import { codingOf, notValidData } from './content-decoding.js';
import type { PolicyAgents } from './safe-connect.js';

/** Request and response bodies larger than this are refused (a SOAP answer is never this big). */
export const MAX_SOAP_RESPONSE_BYTES = 16 * 1024 * 1024;
/** MAX_SOAP_RESPONSE_BYTES as people read it, for messages. */
export const MAX_SOAP_RESPONSE_SIZE = `${MAX_SOAP_RESPONSE_BYTES / (1024 * 1024)} MiB`;

export interface Exchange {
  request?: { url: string; headers: Record<string, string>; body: string };
  response?: {
    status: number;
    headers: Record<string, string>;
    body: string;
    /** Why the body could not be decoded (its Content-Encoding); `body` is then empty. */
    bodyError?: string;
  };
}

/**
 * An answer whose body could not be decoded: an encoding axios does not decode (`zstd`), or data
 * that is not what its encoding says. Its status and headers came; its body is not read.
 */
export class UndecodableBodyError extends Error {
  readonly code = 'ERR_CALLHOOK_CONTENT_ENCODING';
  constructor(
    readonly head: AnswerHead,
    message: string,
  ) {
    super(message);
  }
}

type Callback = (error: unknown, response?: unknown, body?: unknown) => unknown;
type Headers = Record<string, unknown>;
/** `HttpClient.request`'s parameters and result, as both clients here override it. */
type RequestArgs = [
  rurl: string,
  data: unknown,
  callback: Callback,
  exheaders?: Headers,
  exoptions?: Headers,
];
type RequestResult = ReturnType<HttpClient['request']>;
type HandleArgs = Parameters<HttpClient['handleResponse']>;

/**
 * Headers computed over the request body exactly as it goes out (the envelope the soap package
 * built, WS-Security included): Standard Webhooks signing.
 */
export type BodySigner = (body: string | Buffer) => Readonly<Record<string, string>>;

/** Size caps; a caller may ask for tighter ones (the WSDL fetcher's per-document cap). */
const SIZE_CAPS = {
  maxContentLength: MAX_SOAP_RESPONSE_BYTES,
  maxBodyLength: MAX_SOAP_RESPONSE_BYTES,
};

/** What axios needs so every socket goes through the network policy, and the body goes as built. */
function pinnedOptions(agents: PolicyAgents, maxRedirects: number): Record<string, unknown> {
  return {
    httpAgent: agents.httpAgent,
    httpsAgent: agents.httpsAgent,
    // A proxy from the environment would be the only address the policy checks.
    proxy: false,
    maxRedirects,
    // The envelope goes out byte for byte as built and signed: axios would otherwise re-encode a
    // string body as JSON when a custom header says `Content-Type: application/json`.
    transformRequest: [(data: unknown) => data],
    // The answer's bytes, decoded by handleResponse in the charset it declares (axios: UTF-8).
    responseType: 'arraybuffer',
  };
}

/**
 * The soap package's HttpClient, pinned to the policy agents, recording what it sends and
 * receives in `exchange`. One instance per call (or per WSDL load), so the recording is that
 * call's. Redirects are not followed for SOAP calls: axios would turn a redirected POST into a
 * GET; a 3xx is reported as it is.
 */
export class RecordingHttpClient extends HttpClient {
  readonly exchange: Exchange = {};

  private readonly extra: Record<string, unknown>;
  private readonly maxRedirects: number;
  private readonly sign: BodySigner | undefined;

  /**
   * `extra`: axios options of the caller's (a signal, a timeout, a tighter size cap);
   * `maxRedirects`: 0 unless given; `sign`: headers over the body as sent.
   */
  constructor(
    private readonly agents: PolicyAgents,
    options: {
      extra?: Record<string, unknown>;
      maxRedirects?: number;
      sign?: BodySigner | undefined;
    } = {},
  ) {
    super({});
    this.extra = options.extra ?? {};
    this.maxRedirects = options.maxRedirects ?? 0;
    this.sign = options.sign;
  }

  override buildRequest(rurl: string, data: unknown, exheaders?: Headers, exoptions: Headers = {}) {
    const options = super.buildRequest(rurl, data, exheaders, {
      ...exoptions,
      ...SIZE_CAPS,
      ...this.extra,
      // Last, so nothing replaces them.
      ...pinnedOptions(this.agents, this.maxRedirects),
    }) as { url: string; headers: Headers; data: unknown };
    if (
      this.sign !== undefined &&
      (typeof options.data === 'string' || Buffer.isBuffer(options.data))
    )
      Object.assign(options.headers, this.sign(options.data));
    this.exchange.request = {
      url: options.url,
      headers: plainHeaders(options.headers),
      body: typeof options.data === 'string' ? options.data : '',
    };
    return options;
  }

  /**
   * The answer (a SOAP response, a WSDL document) as text, in the charset its `Content-Type` names,
   * else its XML declaration's encoding, else UTF-8: a legacy service's ISO-8859-1 `Montréal` was
   * read as UTF-8 into `Montr�al`.
   */
  override handleResponse(...[req, res, body]: HandleArgs): unknown {
    const headers = plainHeaders(res.headers);
    // axios takes the Content-Encoding header away from an answer it decoded (gzip, deflate,
    // br); one still there was not decoded, and the bytes are not text.
    const left = headers['content-encoding'];
    if (left !== undefined && Buffer.isBuffer(body) && body.length > 0) {
      const coding = codingOf(left);
      if (coding !== undefined) {
        undecoded.set(
          res,
          typeof coding === 'string'
            ? `the body is in Content-Encoding "${left}", which was not decoded`
            : coding.unreadable,
        );
        return '';
      }
    }
    const contentType = headers['content-type'];
    const text: unknown = Buffer.isBuffer(body) ? decodeBody(body, charsetOf(contentType)) : body;
    return super.handleResponse(req, res, text);
  }

  override request(...[rurl, data, callback, exheaders, exoptions]: RequestArgs): RequestResult {
    return super.request(
      rurl,
      data,
      (error: unknown, response?: unknown, body?: unknown) => {
        const res = response as { status?: unknown; headers?: unknown } | undefined;
        // An answer came, but its body could not be decoded: recorded without a body, and the
        // caller told why (a SOAP call's classify, the WSDL loader).
        const undecodable = undecodableAnswer(error, res);
        if (undecodable !== undefined) {
          this.exchange.response = {
            ...undecodable.head,
            body: '',
            bodyError: undecodable.message,
          };
          return callback(undecodable, response, '');
        }
        if (error === null && typeof res?.status === 'number') {
          this.exchange.response = {
            status: res.status,
            headers: plainHeaders(res.headers),
            body: typeof body === 'string' ? body : '',
          };
        }
        return callback(error, response, body);
      },
      exheaders,
      exoptions,
    );
  }
}

/** Why the body of an answer (axios's response object) was not decoded, by `handleResponse`. */
const undecoded = new WeakMap<object, string>();

/** zlib's and brotli's error codes, as axios passes them on from its decoding stream. */
const DECODING_ERROR = /^(Z_[A-Z_]+|ERR__ERROR_[A-Z0-9_]+|ERR_BROTLI_[A-Z_]+)$/;

/**
 * The answer behind a request's outcome when its body could not be decoded: an encoding left
 * undecoded (see handleResponse), or an axios error from its gzip/deflate/br stream.
 */
function undecodableAnswer(
  error: unknown,
  res: { status?: unknown; headers?: unknown } | undefined,
): UndecodableBodyError | undefined {
  if (error === null && res !== undefined && typeof res.status === 'number') {
    const why = undecoded.get(res);
    return why === undefined
      ? undefined
      : new UndecodableBodyError({ status: res.status, headers: plainHeaders(res.headers) }, why);
  }
  const failed = error as {
    code?: unknown;
    message?: unknown;
    response?: { status?: unknown; headers?: unknown };
    request?: { res?: { rawHeaders?: unknown } };
  } | null;
  const status = failed?.response?.status;
  if (typeof status !== 'number' || typeof failed?.code !== 'string') return undefined;
  if (!DECODING_ERROR.test(failed.code)) return undefined;
  // axios has removed Content-Encoding from the headers it gives; the raw ones still have it.
  const raw = failed.request?.res?.rawHeaders;
  const names = Array.isArray(raw) ? (raw as unknown[]) : [];
  const index = names.findIndex(
    (name, i) => i % 2 === 0 && String(name).toLowerCase() === 'content-encoding',
  );
  const written = index < 0 ? undefined : String(names[index + 1]);
  const coding = written === undefined ? undefined : codingOf(written);
  const detail = typeof failed.message === 'string' ? failed.message : failed.code;
  const message =
    typeof coding === 'object'
      ? coding.unreadable
      : written === undefined
        ? `the body could not be decoded: ${detail}`
        : notValidData(coding ?? written, detail);
  const headers = plainHeaders(failed.response?.headers);
  if (written !== undefined) headers['content-encoding'] = written;
  return new UndecodableBodyError({ status, headers }, message);
}

/** Never sends: records the request the soap package built, then ends the call with `error`. */
export class PreviewHttpClient extends RecordingHttpClient {
  static readonly STOP = new Error('preview: not sent');

  override request(...[rurl, data, callback, exheaders, exoptions]: RequestArgs): RequestResult {
    this.buildRequest(rurl, data, exheaders, exoptions);
    callback(PreviewHttpClient.STOP);
    // The soap package ignores what request() returns on this path.
    return Promise.resolve() as unknown as RequestResult;
  }
}

export function plainHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === null || typeof headers !== 'object') return out;
  const source =
    typeof (headers as { toJSON?: unknown }).toJSON === 'function'
      ? ((headers as { toJSON(): unknown }).toJSON() as Record<string, unknown>)
      : (headers as Record<string, unknown>);
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || value === null) continue;
    out[name] = Array.isArray(value) ? value.map(String).join(', ') : String(value);
  }
  return out;
}

/** The status and headers of an answer whose body was not read. */
export interface AnswerHead {
  status: number;
  headers: Record<string, string>;
}

export type TransportFailure =
  | { kind: 'refused'; message: string }
  | { kind: 'timeout'; message: string }
  | { kind: 'network_error'; message: string }
  /** The answer passed the size cap; `head` is its status and headers, when they had come. */
  | { kind: 'too_large'; message: string; head?: AnswerHead }
  /** The request body passed the size cap: nothing was sent. */
  | { kind: 'request_too_large'; message: string }
  | { kind: 'redirect_loop'; message: string }
  | { kind: 'bad_url'; message: string };

/**
 * Errors about where a request goes, not about the network: a URL that does not parse or is not
 * http(s) (axios, or follow-redirects on a redirect's `Location`), and a redirect loop. The same
 * URL gives the same error every time.
 */
const BAD_URL_CODES = new Set([
  'ERR_INVALID_URL',
  'ERR_INVALID_PROTOCOL',
  'ERR_FR_REDIRECTION_FAILURE',
]);

/**
 * What went wrong below HTTP: the policy refused the address, the deadline passed, the answer or
 * the request was too large, the URL (or a redirect's) cannot be requested, redirects went round
 * in a loop, or the connection failed (refused, reset, DNS). Only `timeout` and `network_error`
 * may go away.
 */
export function transportFailure(error: unknown, deadlinePassed: boolean): TransportFailure {
  const err = error as { code?: unknown; message?: unknown; reason?: unknown; cause?: unknown };
  const cause = (err.cause ?? {}) as { code?: unknown; reason?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : String(error);
  if (code === 'ERR_CALLHOOK_NETWORK_POLICY' || cause.code === 'ERR_CALLHOOK_NETWORK_POLICY') {
    const reason = typeof cause.reason === 'string' ? cause.reason : message;
    return { kind: 'refused', message: reason };
  }
  if (
    deadlinePassed ||
    code === 'ECONNABORTED' ||
    code === 'ETIMEDOUT' ||
    code === 'ERR_CANCELED'
  ) {
    return { kind: 'timeout', message };
  }
  // axios: "maxContentLength size of … exceeded" (the answer), "Request body larger than
  // maxBodyLength limit" (the request, refused before sending).
  if (/maxContentLength/.test(message)) {
    const head = answerHead(error);
    return {
      kind: 'too_large',
      message: `the answer is larger than ${MAX_SOAP_RESPONSE_SIZE}`,
      ...(head === undefined ? {} : { head }),
    };
  }
  if (/maxBodyLength/.test(message)) {
    return {
      kind: 'request_too_large',
      message: `the request is larger than ${MAX_SOAP_RESPONSE_SIZE}`,
    };
  }
  if (code === 'ERR_FR_TOO_MANY_REDIRECTS') {
    return { kind: 'redirect_loop', message: 'too many redirects (a redirect loop?)' };
  }
  if (BAD_URL_CODES.has(code) || /^Unsupported protocol /.test(message)) {
    return { kind: 'bad_url', message };
  }
  return { kind: 'network_error', message: code === '' ? message : `${code}: ${message}` };
}

/**
 * The status and headers of the answer an error cut short, when they had come: axios gives the
 * request it made, and Node's request keeps the response it received as `res`.
 */
function answerHead(error: unknown): AnswerHead | undefined {
  const res = (error as { request?: { res?: { statusCode?: unknown; headers?: unknown } } } | null)
    ?.request?.res;
  if (typeof res?.statusCode !== 'number') return undefined;
  return { status: res.statusCode, headers: plainHeaders(res.headers) };
}
