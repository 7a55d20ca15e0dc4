/**
 * A request and a response as Callhook records them: in the attempt log of a delivery or an IVR
 * invocation, and in the test endpoint's answer. No dependencies, so the IVR log thread loads only
 * this.
 */

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
  /** The first 64 KiB, as text. */
  body: string;
  truncated: boolean;
}

/** A response as an attempt's log row holds it (deliveries and IVR invocations alike). */
export function loggedResponse(response: RecordedResponse) {
  return {
    status: response.status,
    headers: response.headers,
    body: response.body,
    bodyTruncated: response.truncated,
  };
}
