/**
 * Calls SOAP operations for Callhook: the WSDL from the cache, the operation and parameters
 * checked against it, the envelope built and parsed by the `soap` package, every socket opened
 * through the network policy, the whole call (WSDL load included) held to one deadline. A call
 * never throws for a remote failure: it returns an outcome saying what happened and whether a
 * retry may help, with the request as sent (secrets masked) and the response as received.
 *
 * SOAP version per port (1.2 → `application/soap+xml; action="…"`, 1.1 → `SOAPAction: "…"`),
 * style (document wrapped, document bare, rpc) and SOAPAction all come from the WSDL's binding.
 */
import { buildArgs, checkParams } from '../domain/soap-params.js';
import {
  endpointProblem,
  selectOperation,
  type SoapOperationSpec,
  type SoapProblem,
  type WsdlDescription,
} from '../domain/soap.js';
import type { NetworkPolicy } from './network-policy.js';
import { createPolicyAgents, type PolicyAgents } from './safe-connect.js';
import { PreviewHttpClient, RecordingHttpClient, type BodySigner } from './soap-http.js';
import { invoke, type Prepared } from './soap-invoke.js';
import {
  buildFailure,
  classify,
  recordOf,
  type SoapOutcome,
  type SoapRequestRecord,
} from './soap-outcome.js';
import { WsdlCache, type WsdlCacheOptions, type WsdlFailure } from './wsdl-cache.js';

export type {
  SoapFault,
  SoapOutcome,
  SoapRequestRecord,
  SoapResponseRecord,
} from './soap-outcome.js';

export interface SoapCallParam {
  /** Dotted for nesting: `customer.address.city`; a numeric segment picks a list item. */
  name: string;
  /** Already rendered, plain text: the SOAP library escapes it for XML. */
  value: string;
  /** Masked in the recorded request. */
  secret?: boolean | undefined;
}

export interface SoapCallRequest {
  wsdlUrl: string;
  service?: string | undefined;
  port?: string | undefined;
  operation: string;
  params: readonly SoapCallParam[];
  /** Extra HTTP headers (e.g. `Authorization`, `Idempotency-Key`). */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Headers signed over the envelope as sent (Standard Webhooks), added to the HTTP request. */
  sign?: BodySigner | undefined;
  /** Whole-call deadline, the WSDL load included when it is not cached. */
  timeoutMs: number;
  /** The deadline a timeout's message names; default `timeoutMs` (see HttpRequest). */
  statedTimeoutMs?: number | undefined;
  /** WS-Security UsernameToken in the SOAP header. */
  wsSecurity?:
    | { username: string; password: string; passwordType?: 'PasswordText' | 'PasswordDigest' }
    | undefined;
  /** Sends to this address instead of the one the WSDL gives (which is often internal). */
  endpoint?: string | undefined;
  /** Stops the call (answered as a `network_error`, `the call was cancelled`). */
  signal?: AbortSignal | undefined;
}

export type SoapPreview =
  | {
      ok: true;
      request: SoapRequestRecord;
      operation: SoapOperationSpec;
      /** Required inputs no parameter fills. */
      warnings: SoapProblem[];
    }
  | { ok: false; outcome: SoapOutcome };

export type DescribeResult =
  { ok: true; description: WsdlDescription } | { ok: false; failure: WsdlFailure };

export interface SoapClientOptions {
  policy: NetworkPolicy;
  /** Share agents with other code; by default the client makes (and closes) its own. */
  agents?: PolicyAgents;
  cache?: Omit<WsdlCacheOptions, 'agents'>;
}

/** An outcome before its duration is known (Omit that keeps the union apart). */
type PendingOutcome = SoapOutcome extends infer T
  ? T extends unknown
    ? Omit<T, 'durationMs'>
    : never
  : never;

export class SoapClient {
  readonly wsdls: WsdlCache;
  private readonly agents: PolicyAgents;
  private readonly ownsAgents: boolean;

  constructor(options: SoapClientOptions) {
    this.ownsAgents = options.agents === undefined;
    this.agents = options.agents ?? createPolicyAgents(options.policy);
    this.wsdls = new WsdlCache({ ...options.cache, agents: this.agents });
  }

  /**
   * Services, ports, operations and their input parameters, from the cache when fresh.
   *
   * ### Examples
   * ```ts
   * const found = await soap.describe('https://erp.example/ws?wsdl');
   * if (found.ok) found.description.services[0]?.ports[0]?.operations.map((op) => op.name);
   * ```
   */
  async describe(wsdlUrl: string): Promise<DescribeResult> {
    const result = await this.wsdls.get(wsdlUrl);
    return result.ok
      ? { ok: true, description: result.loaded.description }
      : { ok: false, failure: result.failure };
  }

  /** Re-fetches the WSDL now (the console's refresh action). */
  async refresh(wsdlUrl: string): Promise<DescribeResult> {
    const result = await this.wsdls.refresh(wsdlUrl);
    return result.ok
      ? { ok: true, description: result.loaded.description }
      : { ok: false, failure: result.failure };
  }

  /**
   * The save-time check of a SOAP integration (SPEC §2.2): the WSDL loads, the operation exists
   * (narrowed by service/port), the parameter names fit its input. Returns problems with their
   * field (`config.wsdlUrl`, `config.operation`, `config.params.2.name`, …); empty when it fits.
   */
  async checkConfig(config: {
    wsdlUrl: string;
    operation: string;
    service?: string | undefined;
    port?: string | undefined;
    params: readonly { name: string }[];
  }): Promise<SoapProblem[]> {
    const found = await this.describe(config.wsdlUrl);
    if (!found.ok) {
      const { failure } = found;
      const where =
        failure.documentUrl === failure.wsdlUrl
          ? ''
          : ` (in ${failure.documentUrl}, which it imports)`;
      return [
        { field: 'config.wsdlUrl', message: `the WSDL cannot be used${where}: ${failure.message}` },
      ];
    }
    const selected = selectOperation(found.description, config);
    if (!selected.ok) return [selected.problem];
    const endpoint = endpointProblem(selected.selected.port);
    if (endpoint !== undefined) return [endpoint];
    return checkParams(selected.selected.operation, config.params).problems;
  }

  /**
   * Calls the operation. Never throws for remote failures (see SoapOutcome).
   *
   * ### Examples
   * ```ts
   * const outcome = await soap.call({
   *   wsdlUrl, operation: 'CreateTicket', timeoutMs: 5000,
   *   params: [{ name: 'customer.phone', value: '+15551234567' }, { name: 'note', value: 'a < b' }],
   * });
   * if (outcome.kind === 'success') outcome.result; // { CreateTicketResult: { TicketId: 'T-1' } }
   * ```
   */
  async call(request: SoapCallRequest): Promise<SoapOutcome> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const abort = new AbortController();
    let expired = false;
    let onExpire: () => void = () => undefined;
    const expiry = new Promise<'expired'>((resolve) => (onExpire = () => resolve('expired')));
    let cancelled = false;
    const stop = (): void => {
      expired = true;
      abort.abort();
      onExpire();
    };
    const timer = setTimeout(stop, request.timeoutMs);
    const cancel = (): void => {
      cancelled = true;
      stop();
    };
    request.signal?.addEventListener('abort', cancel, { once: true });
    if (request.signal?.aborted === true) cancel();
    try {
      const prepared = await Promise.race([this.prepare(request), expiry]);
      if (prepared === 'expired' && cancelled) return cancelledCall(elapsed());
      if (prepared === 'expired') return wsdlTimeout(request, elapsed());
      if (!prepared.ok) return { ...prepared.outcome, durationMs: elapsed() } as SoapOutcome;
      const http = new RecordingHttpClient(this.agents, { sign: request.sign });
      const remaining = Math.max(1, request.timeoutMs - elapsed());
      const invoked = await Promise.race([
        invoke(prepared.value, request, http, { signal: abort.signal, timeout: remaining }),
        expiry,
      ]);
      const record = recordOf(http.exchange, prepared.value.selected, request);
      if (invoked === 'expired' || (expired && invoked.error !== null)) {
        if (cancelled)
          return {
            ...cancelledCall(elapsed()),
            ...(record === undefined ? {} : { request: record }),
          };
        return {
          kind: 'timeout',
          retryable: true,
          message: timeoutReason(statedTimeout(request)),
          durationMs: elapsed(),
          ...(record === undefined ? {} : { request: record }),
        };
      }
      return classify(invoked, http.exchange, record, elapsed(), prepared.value.selected.operation);
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', cancel);
    }
  }

  /**
   * The request `call` would send (secrets masked), without sending it: for the test endpoint.
   * Loads the WSDL if needed, within `timeoutMs` (a WSDL server that answers slowly or trickles
   * its body does not hold the caller past it; the load goes on in the background, as for `call`).
   */
  async preview(request: SoapCallRequest): Promise<SoapPreview> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const expiry = new Promise<'expired'>((resolve) => {
      timer = setTimeout(resolve, request.timeoutMs, 'expired');
    });
    const prepared = await Promise.race([this.prepare(request), expiry]).finally(() =>
      clearTimeout(timer),
    );
    if (prepared === 'expired') {
      return { ok: false, outcome: wsdlTimeout(request, Math.round(performance.now() - started)) };
    }
    if (!prepared.ok)
      return { ok: false, outcome: { ...prepared.outcome, durationMs: 0 } as SoapOutcome };
    const http = new PreviewHttpClient(this.agents, { sign: request.sign });
    const invoked = await invoke(prepared.value, request, http, {});
    const record = recordOf(http.exchange, prepared.value.selected, request);
    if (record === undefined) {
      return { ok: false, outcome: buildFailure(invoked.error) };
    }
    return {
      ok: true,
      request: record,
      operation: prepared.value.selected.operation,
      warnings: prepared.value.warnings,
    };
  }

  /** Closes idle keep-alive sockets (when the agents are the client's own). */
  close(): void {
    if (!this.ownsAgents) return;
    this.agents.httpAgent.destroy();
    this.agents.httpsAgent.destroy();
  }

  private async prepare(
    request: SoapCallRequest,
  ): Promise<{ ok: true; value: Prepared } | { ok: false; outcome: PendingOutcome }> {
    const wsdl = await this.wsdls.get(request.wsdlUrl);
    if (!wsdl.ok) {
      const { failure } = wsdl;
      const where =
        failure.documentUrl === failure.wsdlUrl
          ? failure.wsdlUrl
          : `${failure.documentUrl} (imported by ${failure.wsdlUrl})`;
      const base = { retryable: failure.retryable, message: `WSDL ${where}: ${failure.message}` };
      return {
        ok: false,
        outcome:
          failure.kind === 'refused'
            ? { kind: 'refused', ...base }
            : { kind: failure.kind, ...base, wsdl: failure },
      };
    }
    const invalid = (problems: SoapProblem[]) =>
      ({
        ok: false,
        outcome: {
          kind: 'invalid',
          retryable: false,
          message: problems.map((p) => `${p.field}: ${p.message}`).join('; '),
          problems,
        },
      }) as const;
    const found = selectOperation(wsdl.loaded.description, request);
    if (!found.ok) return invalid([found.problem]);
    const endpoint = endpointProblem(found.selected.port, request.endpoint);
    if (endpoint !== undefined) return unusableEndpoint(request.wsdlUrl, endpoint);
    const { operation } = found.selected;
    const checked = checkParams(operation, request.params);
    const headerProblems = checkHeaders(request.headers ?? {});
    if (checked.problems.length > 0 || headerProblems.length > 0) {
      return invalid([...checked.problems, ...headerProblems]);
    }
    const args =
      operation.simpleInput === true
        ? (request.params[0]?.value ?? '')
        : buildArgs(request.params, operation);
    return {
      ok: true,
      value: {
        loaded: wsdl.loaded,
        selected: found.selected,
        args,
        headers: { ...request.headers },
        warnings: checked.warnings,
      },
    };
  }
}

const statedTimeout = (request: SoapCallRequest): number =>
  request.statedTimeoutMs ?? request.timeoutMs;

/** A call's timeout message, once the WSDL is loaded: `no answer within the 2500 ms timeout`. */
export function timeoutReason(timeoutMs: number): string {
  return `no answer within the ${timeoutMs} ms timeout`;
}

/**
 * The outcome of a call whose WSDL gives its port an address no request can go to: the WSDL is
 * at fault, and it gives the same address on every attempt.
 */
function unusableEndpoint(
  wsdlUrl: string,
  problem: SoapProblem,
): { ok: false; outcome: PendingOutcome } {
  const wsdl: WsdlFailure = {
    kind: 'wsdl_invalid',
    wsdlUrl,
    documentUrl: wsdlUrl,
    message: problem.message,
    retryable: false,
  };
  return {
    ok: false,
    outcome: {
      kind: 'wsdl_invalid',
      retryable: false,
      message: `WSDL ${wsdlUrl}: ${problem.message}`,
      wsdl,
    },
  };
}

/** The outcome of a call its caller stopped (`SoapCallRequest.signal`). */
function cancelledCall(durationMs: number): SoapOutcome {
  return { kind: 'network_error', retryable: true, message: 'the call was cancelled', durationMs };
}

/** The outcome of a call or preview whose deadline passed while its WSDL was loading. */
function wsdlTimeout(request: SoapCallRequest, durationMs: number): SoapOutcome {
  return {
    kind: 'timeout',
    retryable: true,
    message: `the WSDL ${request.wsdlUrl} was not loaded within the ${statedTimeout(request)} ms timeout`,
    durationMs,
  };
}

function checkHeaders(headers: Readonly<Record<string, string>>): SoapProblem[] {
  const problems: SoapProblem[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      problems.push({ field: `headers.${name}`, message: 'is not a valid HTTP header name' });
    } else if (/[\r\n\0]/.test(value)) {
      // Never sent: a line break would split it into two headers.
      problems.push({ field: `headers.${name}`, message: 'the value contains CR, LF or NUL' });
    }
  }
  return problems;
}
