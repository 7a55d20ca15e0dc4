/**
 * A request and a response as Callhook records them: in the attempt log of a delivery or an IVR
 * invocation, and in the test endpoint's answer. Small on purpose: the IVR log thread loads it.
 */
import { charsetOf } from '../domain/media-type.js';
import { bodyText, KEPT_BODY_BYTES } from '../transport/body-text.js';
import { headerTextValue } from '../template/escapers.js';

/** The request as sent (or as it would be sent), secrets masked. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: string | null;
}

export interface RecordedResponse {
  status: number;
  headers: [string, string][];
  /** The first 64 KiB, as text (decoded first when it came compressed). */
  body: string;
  truncated: boolean;
  /**
   * Why the body could not be decoded: a Content-Encoding Callhook does not read, or data that is
   * not what its encoding says. `body` then holds what did decode, often nothing.
   */
  bodyError?: string;
}

/**
 * A response as recorded: its status, headers (a value whose bytes are UTF-8 as that text, any
 * other as latin1) and first 64 KiB as text, decoded as its `Content-Type` charset says (see
 * bodyText; `cut`: the client already kept only the start of a longer body; `bodyError`: why the
 * client could not decode it).
 */
export function recordResponse(
  status: number,
  headers: Iterable<readonly [string, string]>,
  body: Buffer | string,
  cut = false,
  bodyError?: string,
): RecordedResponse {
  // Header bytes arrive as latin1 text: a value in UTF-8 (`Numéro`) is shown as that text.
  const list = Array.from(headers, ([n, v]): [string, string] => [n, headerTextValue(v)]);
  const contentType = list.find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  const { text, truncated } = bodyText(
    body,
    KEPT_BODY_BYTES,
    cut,
    charsetOf(contentType) || undefined,
  );
  const response = { status, headers: list, body: text, truncated };
  return bodyError === undefined ? response : { ...response, bodyError };
}

/** A response as an attempt's log row holds it (deliveries and IVR invocations alike). */
export function loggedResponse(response: RecordedResponse) {
  return {
    status: response.status,
    headers: response.headers,
    body: response.body,
    bodyTruncated: response.truncated,
    ...(response.bodyError === undefined ? {} : { bodyError: response.bodyError }),
  };
}
