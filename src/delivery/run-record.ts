/**
 * What a run of an integration records, with the integration's secrets masked: the request as
 * sent, the response (a remote may quote a secret back), and the outcome's message. `secrets` are
 * the compiled integration's, already in `maskingOrder`. IVR variables read the answer as
 * received: a masked body that differs from it is returned beside it.
 */
import {
  CALLHOOK_HEADERS,
  MASK,
  secretHeader,
  type SigningOptions,
} from '../domain/integration.js';
import { maskOrdered } from '../security/secret-box.js';
import { headerTextValue } from '../template/escapers.js';
import type { SoapOutcome } from '../transport/soap-client.js';
import type { DeliveryOutcome } from './outcome.js';
import type { RecordedRequest, RecordedResponse } from './recorded.js';
import { activeSecrets } from './signing.js';

/** Set by Callhook itself and not secret: shown as sent. */
const MANAGED = new Set(CALLHOOK_HEADERS);

/**
 * The request as recorded: secret headers (see secretHeader()) masked whole, the rest in part.
 * Header values are shown as the text they carry, not as the latin1 view of their UTF-8 bytes
 * that the HTTP client is handed (headerWireValue).
 */
export function recordRequest(
  method: string,
  url: string,
  headers: readonly (readonly [string, string])[],
  body: string | null,
  secrets: readonly string[],
): RecordedRequest {
  const mask = (text: string) => maskOrdered(text, secrets);
  return {
    method,
    url: mask(url),
    headers: headers.map(([name, value]) => [
      name,
      MANAGED.has(name.toLowerCase())
        ? value
        : secretHeader(name)
          ? MASK
          : mask(headerTextValue(value)),
    ]),
    body: body === null ? null : mask(body),
  };
}

/** A SOAP exchange's request (the envelope as the soap package sent it), recorded. */
export function soapRecord(
  record: NonNullable<SoapOutcome['request']>,
  secrets: readonly string[],
): RecordedRequest {
  return recordRequest(
    record.method,
    record.url,
    Object.entries(record.headers),
    record.body,
    secrets,
  );
}

/**
 * An outcome's message may quote the remote (a fault string, the start of a page that is not a
 * SOAP answer) and is stored as the attempt's error and the delivery's last error: masked too.
 */
export function maskOutcome(outcome: DeliveryOutcome, secrets: readonly string[]): DeliveryOutcome {
  if (secrets.length === 0) return outcome;
  switch (outcome.kind) {
    case 'response':
      return outcome;
    case 'refused':
    case 'render-error':
      return { ...outcome, reason: maskOrdered(outcome.reason, secrets) };
    default:
      return { ...outcome, message: maskOrdered(outcome.message, secrets) };
  }
}

/**
 * A remote that echoes a secret back (a header quoted in an error page) must not put it in the
 * attempt log or the test answer: the recorded response has the integration's secrets masked, as
 * the request has. The body as received is kept beside it for IVR variables when they differ.
 */
export function maskResponse(
  response: RecordedResponse | null,
  secrets: readonly string[],
): { response: RecordedResponse | null; answerBody?: string } {
  if (response === null || secrets.length === 0) return { response };
  const masked: RecordedResponse = {
    ...response,
    headers: response.headers.map(([n, v]) => [n, maskOrdered(v, secrets)]),
    body: maskOrdered(response.body, secrets),
    // Names the Content-Encoding header's value, which a remote writes.
    ...(response.bodyError === undefined
      ? {}
      : { bodyError: maskOrdered(response.bodyError, secrets) }),
  };
  return masked.body === response.body
    ? { response: masked }
    : { response: masked, answerBody: response.body };
}

/** `signing` without a previous secret whose grace period has ended by `now`. */
export function liveSigning(signing: SigningOptions | undefined, now: number) {
  if (signing?.previousSecret === undefined) return signing;
  if (activeSecrets(signing, now).length > 1) return signing;
  const { previousSecret: _expired, ...current } = signing;
  return current;
}
