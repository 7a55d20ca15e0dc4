/**
 * The IVR answer cache (`options.cacheTtlSeconds`): for lookups many callers repeat (opening
 * hours, a balance asked twice in one call), a success answer is reused for identical rendered
 * requests within the TTL, so the remote is asked once.
 *
 * The key is the request as it would be sent, unmasked: method, URL, body and every header value
 * (SOAP: WSDL, operation, parameters and headers), with the integration id and version. Two
 * callers share an answer only when they would have sent byte-identical requests; the masked
 * request of the attempt log cannot serve as the key, since a secret header that carries a token
 * (`X-Account: {{ivr.account}}`) is masked whole. Per process, bounded, in memory.
 */
import { createHash } from 'node:crypto';
import type { Integration } from '../domain/integration.js';
import { openSecrets, type SecretSealer } from '../domain/integration-secrets.js';
import {
  compileHeaders,
  compileHttpRequest,
  type CompiledHeaders,
  type CompiledHttpRequest,
} from '../template/http-request-template.js';
import { compileSoapParams, type CompiledSoapParams } from '../template/soap-params-template.js';
import type { CompileFilterOptions } from '../template/filters.js';
import type { RenderScope } from '../template/scope.js';
import type { RecordedRequest, RecordedResponse } from './recorded.js';

/** A success answer as the IVR got it, with what the attempt log showed for it. */
export interface CachedAnswer {
  status: number;
  variables: Readonly<Record<string, string>>;
  /** The invocation that asked the remote. */
  deliveryId: string;
  request: RecordedRequest | null;
  response: RecordedResponse | null;
  /** The body as received, when the recorded one has secrets masked (see RunResult). */
  answerBody?: string;
}

export interface IvrAnswerCacheOptions {
  sealer: SecretSealer;
  templates?: CompileFilterOptions;
  /** Answers kept across all integrations; the oldest go first (default 10,000). */
  maxEntries?: number;
  clock?: () => number;
}

type KeyRenderer = (scope: RenderScope) => string | undefined;

export class IvrAnswerCache {
  private readonly answers = new Map<string, { expiresAt: number; answer: CachedAnswer }>();
  private readonly renderers = new Map<string, KeyRenderer>();
  private readonly clock: () => number;

  constructor(private readonly options: IvrAnswerCacheOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /**
   * The cache key of what `integration` would send for `scope`; undefined when it does not
   * render (the invocation then runs and reports the render error).
   *
   * ### Example
   * ```ts
   * const key = cache.keyOf(integration, scope);
   * const hit = key === undefined ? undefined : cache.get(key);
   * ```
   */
  keyOf(integration: Integration, scope: RenderScope): string | undefined {
    const version = `${integration.id}:${integration.version}`;
    let render = this.renderers.get(version);
    if (render === undefined) {
      render = this.compile(integration);
      this.renderers.set(version, render);
      if (this.renderers.size > 1000) this.renderers.delete(this.renderers.keys().next().value!);
    }
    const request = render(scope);
    if (request === undefined) return undefined;
    return createHash('sha256').update(version).update('\u0000').update(request).digest('hex');
  }

  get(key: string): CachedAnswer | undefined {
    const entry = this.answers.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.clock()) {
      this.answers.delete(key);
      return undefined;
    }
    return entry.answer;
  }

  /** Keeps a success answer for `ttlSeconds`. */
  set(key: string, answer: CachedAnswer, ttlSeconds: number): void {
    this.answers.delete(key);
    this.answers.set(key, { expiresAt: this.clock() + ttlSeconds * 1000, answer });
    const max = this.options.maxEntries ?? 10_000;
    while (this.answers.size > max) this.answers.delete(this.answers.keys().next().value!);
  }

  /** Answers currently kept (expired ones included until read or pushed out). */
  get size(): number {
    return this.answers.size;
  }

  private compile(integration: Integration): KeyRenderer {
    const templates = this.options.templates ?? {};
    const plain = openSecrets(integration.config, integration.options, this.options.sealer);
    if (integration.type === 'http') {
      const compiled = compileHttpRequest(plain.config as typeof integration.config, {
        ...templates,
        judgeShape: false,
      });
      if (!compiled.ok) return () => undefined;
      return httpKey(compiled.request);
    }
    const config = plain.config as typeof integration.config;
    const params = compileSoapParams(config.params, templates);
    const headers = compileHeaders(config.headers, templates);
    if (!params.ok || !headers.ok) return () => undefined;
    return soapKey(
      [config.wsdlUrl, config.service ?? '', config.port ?? '', config.operation],
      params.params,
      headers.headers,
    );
  }
}

function httpKey(request: CompiledHttpRequest): KeyRenderer {
  return (scope) => {
    const rendered = request.render(scope);
    if (!rendered.ok) return undefined;
    const { method, url, headers, body } = rendered.request;
    return JSON.stringify([method, url, headers, body]);
  };
}

function soapKey(
  target: string[],
  params: CompiledSoapParams,
  headers: CompiledHeaders,
): KeyRenderer {
  return (scope) => {
    const renderedParams = params.render(scope);
    const renderedHeaders = headers.render(scope);
    if (!renderedParams.ok || !renderedHeaders.ok) return undefined;
    return JSON.stringify([target, renderedParams.params, renderedHeaders.headers]);
  };
}
