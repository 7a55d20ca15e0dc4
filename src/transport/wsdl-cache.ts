/**
 * WSDLs, fetched through the network policy, parsed once and kept per URL. A SOAP integration
 * runs the same WSDL for every call, and an IVR caller must not wait for a WSDL download, so the
 * parsed WSDL and its description are cached:
 *
 * - fresh for `ttlMs` (default 1 hour); the first use after that still gets the cached WSDL at
 *   once and starts a re-fetch in the background (a WSDL server that is down or hangs must not
 *   stop, or slow, a SOAP service that is up);
 * - if that re-fetch fails, the previous WSDL goes on serving, and the re-fetch is tried again on
 *   a use after `failureTtlMs`;
 * - a failed first load is remembered for `failureTtlMs` (default 5 s), so a burst of calls to a
 *   dead WSDL makes one request, not one per call;
 * - `refresh(url)` re-fetches now (the console's "refresh WSDL" action) and reports its failure;
 * - at most `maxEntries` WSDLs (default 200), the least recently used dropped first.
 *
 * A load reads the WSDL and every import and include it names (http and https only: a `file:`
 * location in a remote WSDL is refused), at most `maxDocuments` documents of `maxDocumentBytes`
 * each, all within `loadTimeoutMs`.
 */
import { WSDL, type IOptions } from 'soap';
import type { WsdlDescription } from '../domain/soap.js';
import type { PolicyAgents } from './safe-connect.js';
import { RecordingHttpClient, transportFailure } from './soap-http.js';
import { scanBindings } from './wsdl-bindings.js';
import { describeServices } from './wsdl-describe.js';

export interface LoadedWsdl {
  url: string;
  wsdl: WSDL;
  description: WsdlDescription;
  /** Epoch ms. */
  loadedAt: number;
  expiresAt: number;
}

/** Why a WSDL could not be used: which document, what was wrong, and whether to try again. */
export interface WsdlFailure {
  kind: 'wsdl_unreachable' | 'wsdl_invalid' | 'refused';
  wsdlUrl: string;
  /** The document that failed: the WSDL itself or one of its imports. */
  documentUrl: string;
  message: string;
  /** Unreachable (network, timeout, 5xx, 408, 429) is retried; invalid and refused are not. */
  retryable: boolean;
}

export type WsdlResult = { ok: true; loaded: LoadedWsdl } | { ok: false; failure: WsdlFailure };

export interface WsdlCacheOptions {
  agents: PolicyAgents;
  ttlMs?: number;
  failureTtlMs?: number;
  loadTimeoutMs?: number;
  maxDocuments?: number;
  maxDocumentBytes?: number;
  maxEntries?: number;
  /** Injected in tests. */
  now?: () => number;
}

export const WSDL_TTL_MS = 60 * 60 * 1000;
const DEFAULTS = {
  ttlMs: WSDL_TTL_MS,
  failureTtlMs: 5_000,
  loadTimeoutMs: 15_000,
  maxDocuments: 50,
  maxDocumentBytes: 5 * 1024 * 1024,
  maxEntries: 200,
};

interface Entry {
  loaded?: LoadedWsdl;
  failure?: { failure: WsdlFailure; until: number };
  inflight?: Promise<WsdlResult>;
  /** Counts the loads started; only the newest one stores what it got. */
  generation: number;
}

export class WsdlCache {
  private readonly entries = new Map<string, Entry>();
  private readonly settings: Required<Omit<WsdlCacheOptions, 'agents' | 'now'>>;
  private readonly now: () => number;

  constructor(private readonly options: WsdlCacheOptions) {
    const { agents: _agents, now, ...rest } = options;
    this.settings = { ...DEFAULTS, ...rest };
    this.now = now ?? Date.now;
  }

  /**
   * The parsed WSDL at `url`. Never throws. A WSDL past its TTL is answered at once while it is
   * fetched again in the background (stale-while-revalidate): a caller never waits on a WSDL
   * server when a copy exists, however slow that server is.
   */
  async get(url: string): Promise<WsdlResult> {
    const entry = this.touch(url);
    const now = this.now();
    const failed = entry.failure !== undefined && now < entry.failure.until;
    if (entry.loaded !== undefined) {
      // A re-fetch that failed is not tried again before failureTtlMs.
      if (now >= entry.loaded.expiresAt && !failed) void this.load(url, entry);
      return { ok: true, loaded: entry.loaded };
    }
    if (failed && entry.failure !== undefined) return { ok: false, failure: entry.failure.failure };
    return this.load(url, entry);
  }

  /**
   * Re-fetches now and waits for the new document. On failure the previous WSDL (if any) keeps
   * serving calls.
   */
  async refresh(url: string): Promise<WsdlResult> {
    const entry = this.touch(url);
    // A load already running may predate the change the user wants picked up: start another,
    // whose result supersedes it.
    delete entry.inflight;
    return this.load(url, entry);
  }

  /** Forgets every WSDL. */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private touch(url: string): Entry {
    const entry = this.entries.get(url) ?? { generation: 0 };
    // Re-inserting moves the key to the end: Map order is the LRU order.
    this.entries.delete(url);
    this.entries.set(url, entry);
    while (this.entries.size > this.settings.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return entry;
  }

  /**
   * One load per URL at a time: concurrent callers share it. A load that `refresh` superseded
   * still answers its own callers but stores nothing, so it cannot overwrite the newer WSDL.
   */
  private load(url: string, entry: Entry): Promise<WsdlResult> {
    if (entry.inflight !== undefined) return entry.inflight;
    entry.generation += 1;
    const generation = entry.generation;
    const inflight = loadWsdl(url, this.options.agents, this.settings).then((result) => {
      const newest = entry.generation === generation;
      if (entry.inflight === inflight) delete entry.inflight;
      const now = this.now();
      if (result.ok) {
        const loaded: LoadedWsdl = {
          ...result.value,
          loadedAt: now,
          expiresAt: now + this.settings.ttlMs,
          description: {
            ...result.value.description,
            fetchedAt: new Date(now).toISOString(),
            expiresAt: new Date(now + this.settings.ttlMs).toISOString(),
          },
        };
        if (newest) {
          entry.loaded = loaded;
          delete entry.failure;
        }
        return { ok: true, loaded } as const;
      }
      if (newest) {
        entry.failure = { failure: result.failure, until: now + this.settings.failureTtlMs };
      }
      return { ok: false, failure: result.failure } as const;
    });
    entry.inflight = inflight;
    return inflight;
  }
}

type LoadOutcome =
  | { ok: true; value: Omit<LoadedWsdl, 'loadedAt' | 'expiresAt'> }
  | { ok: false; failure: WsdlFailure };

class WsdlDocumentError extends Error {
  constructor(
    readonly documentUrl: string,
    readonly kind: WsdlFailure['kind'],
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * Fetches and parses the WSDL at `url` with everything it imports. Never throws: a failure
 * names the document and what was wrong with it.
 */
export async function loadWsdl(
  url: string,
  agents: PolicyAgents,
  settings: Pick<Required<WsdlCacheOptions>, 'loadTimeoutMs' | 'maxDocuments' | 'maxDocumentBytes'>,
): Promise<LoadOutcome> {
  const fail = (
    kind: WsdlFailure['kind'],
    message: string,
    retryable: boolean,
    documentUrl = url,
  ): LoadOutcome => ({
    ok: false,
    failure: { kind, wsdlUrl: url, documentUrl, message, retryable },
  });
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    return fail('wsdl_invalid', `"${url}" is not an absolute URL`, false);
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') {
    return fail(
      'wsdl_invalid',
      `the WSDL URL must be http: or https:, not ${parsedUrl.protocol}`,
      false,
    );
  }

  const abort = new AbortController();
  let timedOut = false;
  const documents: { url: string; body: string }[] = [];
  // Where each document was finally read from, after redirects: the base its relative imports
  // resolve against (the soap package would use the URL it asked for).
  const finalUrls = new Map<string, string>();
  const fetcher = new RecordingHttpClient(agents, {
    extra: {
      signal: abort.signal,
      timeout: settings.loadTimeoutMs,
      maxContentLength: settings.maxDocumentBytes,
    },
    maxRedirects: 5,
  });
  // Every document (the WSDL and each import) goes through here.
  const httpClient = {
    request(
      docUrl: string,
      data: unknown,
      callback: (error: unknown, response?: unknown, body?: unknown) => unknown,
      exheaders?: Record<string, unknown>,
      exoptions?: Record<string, unknown>,
    ) {
      if (documents.length >= settings.maxDocuments) {
        callback(
          new WsdlDocumentError(
            docUrl,
            'wsdl_invalid',
            `more than ${settings.maxDocuments} documents imported`,
            false,
          ),
        );
        return Promise.resolve();
      }
      return fetcher.request(
        docUrl,
        data,
        (error, response, body) => {
          if (error !== null && error !== undefined) {
            const failure = transportFailure(error, timedOut);
            const kind =
              failure.kind === 'refused'
                ? 'refused'
                : failure.kind === 'too_large'
                  ? 'wsdl_invalid'
                  : 'wsdl_unreachable';
            const message =
              failure.kind === 'timeout'
                ? `no complete answer within ${settings.loadTimeoutMs} ms`
                : failure.kind === 'too_large'
                  ? `larger than ${settings.maxDocumentBytes} bytes`
                  : failure.message;
            return callback(
              new WsdlDocumentError(docUrl, kind, message, kind === 'wsdl_unreachable'),
            );
          }
          const status = (response as { status: number }).status;
          if (status !== 200) {
            const retryable = status >= 500 || status === 408 || status === 429;
            return callback(
              new WsdlDocumentError(
                docUrl,
                retryable ? 'wsdl_unreachable' : 'wsdl_invalid',
                `answered HTTP ${status}${typeof body === 'string' && body.trim() !== '' ? `: ${snippet(body)}` : ''}`,
                retryable,
              ),
            );
          }
          const text = typeof body === 'string' ? body : '';
          const finalUrl = finalUrlOf(response) ?? docUrl;
          finalUrls.set(docUrl, finalUrl);
          documents.push({ url: finalUrl, body: text });
          return callback(null, response, text);
        },
        exheaders,
        exoptions,
      );
    },
  };

  const options: IOptions = {
    httpClient: httpClient as unknown as NonNullable<IOptions['httpClient']>,
    wsdl_options: {
      // Imports and includes may only be fetched over http(s), like the WSDL itself.
      overrideImportLocation: (resolved: string, parentUri?: string, written?: string) => {
        const base = parentUri === undefined ? undefined : finalUrls.get(parentUri);
        const location =
          base !== undefined && written !== undefined && !/^https?:/i.test(written)
            ? new URL(written, base).toString()
            : resolved;
        if (!/^https?:\/\//i.test(location)) {
          throw new WsdlDocumentError(
            location,
            'wsdl_invalid',
            'imports and includes must be http: or https: URLs',
            false,
          );
        }
        return location;
      },
    },
  };

  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, settings.loadTimeoutMs);
  try {
    const main = await new Promise<string>((resolve, reject) => {
      httpClient.request(url, null, (error, _response, body) => {
        if (error) reject(error as Error);
        else resolve(body as string);
      });
    });
    const wsdl = await new Promise<WSDL>((resolve, reject) => {
      let instance: WSDL;
      try {
        instance = new WSDL(main, url, options);
      } catch (error) {
        reject(error as Error);
        return;
      }
      instance.onReady((error: unknown) => (error ? reject(error as Error) : resolve(instance)));
      // The load deadline also covers a parser that never calls back.
      abort.signal.addEventListener('abort', () =>
        reject(
          new WsdlDocumentError(
            url,
            'wsdl_unreachable',
            `not loaded within ${settings.loadTimeoutMs} ms`,
            true,
          ),
        ),
      );
    });
    const services = describeServices(wsdl, scanBindings(documents.map((doc) => doc.body)));
    if (services.length === 0) {
      return fail(
        'wsdl_invalid',
        'the WSDL defines no SOAP service (no <service> whose <port> uses a SOAP 1.1 or 1.2 binding)',
        false,
      );
    }
    return {
      ok: true,
      value: {
        url,
        wsdl,
        description: {
          wsdlUrl: url,
          targetNamespace: String(wsdl.definitions.$targetNamespace ?? ''),
          services,
          documents: documents.map((doc) => doc.url),
          fetchedAt: '',
          expiresAt: '',
        },
      },
    };
  } catch (error) {
    if (error instanceof WsdlDocumentError) {
      return fail(error.kind, error.message, error.retryable, error.documentUrl);
    }
    const message = error instanceof Error ? error.message : String(error);
    // sax reports "…\nLine: 3\nColumn: 7\nChar: x": keep it on one line.
    return fail(
      'wsdl_invalid',
      `not a WSDL the SOAP library can read: ${message.replace(/\s*\n\s*/g, ', ')}`,
      false,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** The URL a response finally came from (follow-redirects records it on the last response). */
function finalUrlOf(response: unknown): string | undefined {
  const last = (response as { request?: { res?: { responseUrl?: unknown } } } | undefined)?.request
    ?.res?.responseUrl;
  return typeof last === 'string' && last !== '' ? last : undefined;
}

function snippet(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
