/**
 * Runs one integration once, whatever its type: open its secrets, render its templates (compiled
 * once per version), send through the HTTP or SOAP client, and report the outcome with the
 * request and response as recorded (secrets masked: run-record.ts). Deliveries, the test endpoint and IVR
 * invocations all go through here.
 */
import { performance } from 'node:perf_hooks';
import type { HttpClient } from '../transport/http-client.js';
import type { SoapClient, SoapCallRequest } from '../transport/soap-client.js';
import { maskingOrder } from '../security/secret-box.js';
import type { HttpConfig, Integration, SoapConfig } from '../domain/integration.js';

export type TypedConfig =
  { type: 'http'; config: HttpConfig } | { type: 'soap'; config: SoapConfig };
import { openSecrets, secretValues, type SecretSealer } from '../domain/integration-secrets.js';
import {
  compileHttpRequest,
  compileHeaders,
  type CompiledHttpRequest,
  type CompiledHeaders,
} from '../template/http-request-template.js';
import { compileSoapParams, type CompiledSoapParams } from '../template/soap-params-template.js';
import type { TemplateProblem } from '../template/compile.js';
import type { CompileFilterOptions } from '../template/filters.js';
import type { RenderScope } from '../template/scope.js';
import { recordResponse, type RecordedRequest, type RecordedResponse } from './recorded.js';
import { liveSigning, maskOutcome, maskResponse, recordRequest, soapRecord } from './run-record.js';
import { fromHttpOutcome, fromSoapOutcome, type DeliveryOutcome } from './outcome.js';
import { activeSecrets, signingProblems, signWebhook } from './signing.js';

export interface RunResult {
  outcome: DeliveryOutcome;
  request: RecordedRequest | null;
  response: RecordedResponse | null;
  /**
   * The response body as received, when it held a secret that `response.body` (logged, shown)
   * has masked: what IVR variables read. Undefined: the same as `response.body`.
   */
  answerBody?: string;
  /** The parsed SOAP result, for IVR variables. */
  soapResult?: unknown;
  durationMs: number;
  version: number;
}

export interface RunOptions {
  /** Sent as `Idempotency-Key`, and as `webhook-id` when signing (constant across retries). */
  deliveryId?: string;
  /** Overrides the integration's `timeoutMs` (IVR invocations). */
  timeoutMs?: number;
  /**
   * The deadline a timeout's reason names when `timeoutMs` is what is left of a longer one (an
   * IVR invocation's, less the time before the run); default `timeoutMs`.
   */
  statedTimeoutMs?: number;
  signal?: AbortSignal;
  now?: number;
}

type Compiled =
  | { type: 'http'; request: CompiledHttpRequest; secrets: string[]; plain: Integration }
  | {
      type: 'soap';
      params: CompiledSoapParams;
      headers: CompiledHeaders;
      secrets: string[];
      plain: Integration;
    };

export interface IntegrationRunnerOptions {
  http: HttpClient;
  soap: SoapClient;
  sealer: SecretSealer;
  templates?: CompileFilterOptions;
  /** Compiled versions kept (least recently used go first). */
  cacheSize?: number;
}

export class IntegrationRunner {
  private readonly compiled = new Map<string, Compiled>();
  private readonly byRow = new WeakMap<Integration, Compiled>();

  constructor(private readonly options: IntegrationRunnerOptions) {}

  /** Template problems of a (plain or sealed) definition, as saving reports them. */
  static check(integration: TypedConfig, templates: CompileFilterOptions = {}): TemplateProblem[] {
    if (integration.type === 'http') {
      const result = compileHttpRequest(integration.config, templates);
      return result.ok ? [] : result.problems;
    }
    const params = compileSoapParams(integration.config.params, templates);
    const headers = compileHeaders(integration.config.headers, templates);
    return [...(params.ok ? [] : params.problems), ...(headers.ok ? [] : headers.problems)];
  }

  private compile(integration: Integration): Compiled | { problems: TemplateProblem[] } {
    // The stores' short caches hand out the same row object for a while: no key to build.
    const same = this.byRow.get(integration);
    if (same !== undefined) return same;
    const found = this.compileVersion(integration);
    if (!('problems' in found)) this.byRow.set(integration, found);
    return found;
  }

  private compileVersion(integration: Integration): Compiled | { problems: TemplateProblem[] } {
    const key = `${integration.id}:${integration.version}`;
    const cached = this.compiled.get(key);
    if (cached !== undefined) {
      this.compiled.delete(key);
      this.compiled.set(key, cached);
      return cached;
    }
    const opened = openSecrets(integration.config, integration.options, this.options.sealer);
    const plain = { ...integration, ...opened } as Integration;
    // A secret template's literal parts are secret; what its tokens render is event data.
    const secrets = maskingOrder(
      secretValues(plain.config, plain.options)
        .flatMap((value) => value.split(/\{\{[\s\S]*?\}\}/))
        .filter((part) => part.trim().length >= 4),
    );
    // A secret that cannot sign (saved before the save-time check) fails the delivery at once; a
    // previous secret whose grace period is over signs nothing and is not judged.
    const signing = signingProblems(liveSigning(plain.options.signing, Date.now()));
    if (signing.length > 0) {
      return { problems: signing.map((p) => ({ ...p, line: 1, column: 1 })) };
    }
    let entry: Compiled;
    if (plain.type === 'http') {
      // Its body's shape was judged when it was saved, by the checks of that version.
      const request = compileHttpRequest(plain.config, {
        ...this.options.templates,
        judgeShape: false,
      });
      if (!request.ok) return { problems: request.problems };
      entry = { type: 'http', request: request.request, secrets, plain };
    } else {
      const params = compileSoapParams(plain.config.params, this.options.templates ?? {});
      const headers = compileHeaders(plain.config.headers, this.options.templates ?? {});
      if (!params.ok || !headers.ok) {
        return {
          problems: [
            ...(params.ok ? [] : params.problems),
            ...(headers.ok ? [] : headers.problems),
          ],
        };
      }
      entry = { type: 'soap', params: params.params, headers: headers.headers, secrets, plain };
    }
    this.compiled.set(key, entry);
    if (this.compiled.size > (this.options.cacheSize ?? 1000)) {
      this.compiled.delete(this.compiled.keys().next().value as string);
    }
    return entry;
  }

  /** Runs `integration` (as stored: sealed) for `scope`. Never throws for a remote's failure. */
  run(integration: Integration, scope: RenderScope, options: RunOptions = {}): Promise<RunResult> {
    return this.execute(integration, scope, options, true);
  }

  /** What `run` would send, without sending it (the test endpoint without `send`). */
  async preview(
    integration: Integration,
    scope: RenderScope,
    options: RunOptions = {},
  ): Promise<RunResult> {
    return this.execute(integration, scope, options, false);
  }

  private async execute(
    integration: Integration,
    scope: RenderScope,
    options: RunOptions,
    send: boolean,
  ): Promise<RunResult> {
    const started = performance.now();
    const base = { version: integration.version, response: null };
    const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
    const compiled = this.compile(integration);
    if ('problems' in compiled) {
      const reason = compiled.problems
        .map((p) => `${p.field} ${p.line}:${p.column} ${p.message}`)
        .join('; ');
      return {
        ...base,
        outcome: { kind: 'render-error', reason },
        request: null,
        durationMs: elapsed(),
      };
    }
    const now = options.now ?? Date.now();
    const timeoutMs = options.timeoutMs ?? compiled.plain.options.timeoutMs;
    const managed: [string, string][] = [];
    if (options.deliveryId !== undefined) managed.push(['Idempotency-Key', options.deliveryId]);
    // Standard Webhooks headers over the body as sent: for SOAP, the envelope the library builds.
    const signing = compiled.plain.options.signing;
    const sign =
      signing === undefined
        ? undefined
        : (body: string | Buffer) =>
            signWebhook(
              options.deliveryId ?? `test_${now}`,
              body,
              activeSecrets(signing, now),
              now,
            );

    if (compiled.type === 'http') {
      const rendered = compiled.request.render(scope);
      if (!rendered.ok) {
        const { field, line, message } = rendered.error;
        const where = line === undefined ? field : `${field} line ${line}`;
        return {
          ...base,
          outcome: { kind: 'render-error', reason: `${where}: ${message}` },
          request: null,
          durationMs: elapsed(),
        };
      }
      const { method, url, headers, body } = rendered.request;
      if (sign !== undefined) managed.push(...Object.entries(sign(body ?? '')));
      // The client's default User-Agent, named here so that the recorded request shows it.
      const agent: [string, string][] = headers.some(([name]) => /^user-agent$/i.test(name))
        ? []
        : [['User-Agent', this.options.http.userAgent]];
      const allHeaders: [string, string][] = [...headers, ...agent, ...managed];
      const request = recordRequest(method, url, allHeaders, body, compiled.secrets);
      if (!send)
        return {
          ...base,
          outcome: { kind: 'response', status: 0, headers: [], durationMs: 0 },
          request,
          durationMs: elapsed(),
        };
      const outcome = await this.options.http.send(
        {
          method,
          url,
          headers: allHeaders,
          ...(body === null ? {} : { body }),
          timeoutMs,
          statedTimeoutMs: options.statedTimeoutMs,
          maxRedirects: compiled.plain.type === 'http' ? compiled.plain.config.maxRedirects : 0,
        },
        options.signal === undefined ? {} : { signal: options.signal },
      );
      const response =
        outcome.kind === 'response'
          ? recordResponse(
              outcome.status,
              outcome.headers,
              outcome.body,
              outcome.bodyTruncated,
              outcome.bodyError,
            )
          : null;
      return {
        version: integration.version,
        outcome: maskOutcome(fromHttpOutcome(outcome), compiled.secrets),
        request,
        ...maskResponse(response, compiled.secrets),
        durationMs: elapsed(),
      };
    }

    // SOAP: custom headers and the signature (over the envelope) go on the HTTP request.
    const params = compiled.params.render(scope);
    if (!params.ok) {
      return {
        ...base,
        outcome: { kind: 'render-error', reason: `${params.error.field}: ${params.error.message}` },
        request: null,
        durationMs: elapsed(),
      };
    }
    const headers = compiled.headers.render(scope);
    if (!headers.ok) {
      return {
        ...base,
        outcome: {
          kind: 'render-error',
          reason: `${headers.error.field}: ${headers.error.message}`,
        },
        request: null,
        durationMs: elapsed(),
      };
    }
    const config = compiled.plain.type === 'soap' ? compiled.plain.config : undefined!;
    const secretParams = new Set(config.params.filter((p) => p.secret).map((p) => p.name));
    const call: SoapCallRequest = {
      wsdlUrl: config.wsdlUrl,
      service: config.service,
      port: config.port,
      operation: config.operation,
      params: params.params.map((p) => ({ ...p, secret: secretParams.has(p.name) })),
      headers: headerRecord([...headers.headers, ...managed]),
      sign,
      timeoutMs,
      statedTimeoutMs: options.statedTimeoutMs,
      wsSecurity: config.wsSecurity,
      signal: options.signal,
    };
    if (!send) {
      const preview = await this.options.soap.preview(call);
      if (!preview.ok)
        return {
          ...base,
          outcome: maskOutcome(fromSoapOutcome(preview.outcome), compiled.secrets),
          request: null,
          durationMs: elapsed(),
        };
      return {
        ...base,
        outcome: { kind: 'response', status: 0, headers: [], durationMs: 0 },
        request: soapRecord(preview.request, compiled.secrets),
        durationMs: elapsed(),
      };
    }
    const outcome = await this.options.soap.call(call);
    const request =
      outcome.request === undefined ? null : soapRecord(outcome.request, compiled.secrets);
    const answer = outcome.response;
    const response =
      answer !== undefined
        ? recordResponse(
            answer.status,
            Object.entries(answer.headers),
            answer.body,
            false,
            answer.bodyError,
          )
        : outcome.kind === 'response_too_large' && outcome.head !== undefined
          ? // The head of an answer whose body was not read: no body, marked cut.
            recordResponse(outcome.head.status, Object.entries(outcome.head.headers), '', true)
          : null;
    return {
      ...base,
      outcome: maskOutcome(fromSoapOutcome(outcome), compiled.secrets),
      request,
      ...maskResponse(response, compiled.secrets),
      ...(outcome.kind === 'success' ? { soapResult: outcome.result } : {}),
      durationMs: elapsed(),
    };
  }
}

/**
 * Header lines as the one value per name the SOAP client takes: a name given twice (two `Cookie`
 * lines, `X-Tag` and `x-tag`) is one header holding both values, as RFC 9110 §5.3 combines field
 * lines (cookies joined by `; `, as RFC 6265 §5.4 writes one Cookie header), where an object of
 * the lines would keep only the last.
 *
 * ### Example
 * ```ts
 * headerRecord([['Cookie', 'a=1'], ['X-Tag', 'one'], ['cookie', 'b=2']]);
 * // → { Cookie: 'a=1; b=2', 'X-Tag': 'one' }
 * ```
 */
export function headerRecord(
  lines: readonly (readonly [string, string])[],
): Record<string, string> {
  // By lower-case name: the first spelling and the values so far.
  const byName = new Map<string, [string, string]>();
  for (const [name, value] of lines) {
    const lower = name.toLowerCase();
    const seen = byName.get(lower);
    if (seen === undefined) byName.set(lower, [name, value]);
    else seen[1] += `${lower === 'cookie' ? '; ' : ', '}${value}`;
  }
  // fromEntries: a header named `__proto__` is a property like any other.
  return Object.fromEntries(byName.values());
}
