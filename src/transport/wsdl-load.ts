/**
 * Loading one WSDL: the document and every import and include it names (http and https only: a
 * `file:` location in a remote WSDL is refused), each fetched through the network policy, at most
 * `maxDocuments` documents of `maxDocumentBytes` each, all within `loadTimeoutMs`; relative
 * locations resolve against the URL a redirect led to. The cache around it is wsdl-cache.ts.
 */
import { WSDL, type IOptions } from 'soap';
import type { WsdlDescription } from '../domain/soap.js';
import { xmlSyntaxError } from '../template/body-structure.js';
import { bodySnippet } from './body-text.js';
import type { PolicyAgents } from './safe-connect.js';
import {
  RecordingHttpClient,
  transportFailure,
  UndecodableBodyError,
  type TransportFailure,
} from './soap-http.js';
import { KEEP_TYPED_TEXT } from './soap-typed-text.js';
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
  /**
   * Unreachable (network, timeout, 5xx, 408, 429) is retried; invalid (another status, a
   * document that does not parse, a redirect loop…) and refused are not.
   */
  retryable: boolean;
}

/** What one load may fetch and how long it may take. */
export interface LoadLimits {
  loadTimeoutMs: number;
  maxDocuments: number;
  maxDocumentBytes: number;
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

/** Redirects followed per document; more is taken for a loop. */
const MAX_REDIRECTS = 5;

/**
 * Why a document could not be fetched. Only a network error or a timeout may go away by itself;
 * the policy's refusal, a document over the cap, a redirect loop and a location that cannot be
 * requested come back the same until someone changes the WSDL, its server or the policy.
 */
function fetchError(
  docUrl: string,
  failure: TransportFailure,
  limits: LoadLimits,
): WsdlDocumentError {
  const invalid = (message: string) =>
    new WsdlDocumentError(docUrl, 'wsdl_invalid', message, false);
  switch (failure.kind) {
    case 'refused':
      return new WsdlDocumentError(docUrl, 'refused', failure.message, false);
    case 'too_large':
      return invalid(`larger than ${limits.maxDocumentBytes} bytes`);
    case 'redirect_loop':
      return invalid(`redirected more than ${MAX_REDIRECTS} times (a redirect loop?)`);
    case 'bad_url':
    // A WSDL is fetched with GET, without a body; here for completeness.
    case 'request_too_large':
      return invalid(`cannot be fetched: ${failure.message}`);
    case 'timeout':
      return new WsdlDocumentError(
        docUrl,
        'wsdl_unreachable',
        `no complete answer within ${limits.loadTimeoutMs} ms`,
        true,
      );
    case 'network_error':
      return new WsdlDocumentError(docUrl, 'wsdl_unreachable', failure.message, true);
  }
}

/**
 * Fetches and parses the WSDL at `url` with everything it imports. Never throws: a failure
 * names the document and what was wrong with it.
 */
export async function loadWsdl(
  url: string,
  agents: PolicyAgents,
  settings: LoadLimits,
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
  // By the location asked for: each document's body, and the document that first imported it
  // (the chain back to the WSDL, for import cycles).
  const bodies = new Map<string, string>();
  const importedBy = new Map<string, string>();
  const fetcher = new RecordingHttpClient(agents, {
    extra: {
      signal: abort.signal,
      timeout: settings.loadTimeoutMs,
      maxContentLength: settings.maxDocumentBytes,
    },
    maxRedirects: MAX_REDIRECTS,
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
          const undecodable = error instanceof UndecodableBodyError ? error : undefined;
          if (error !== null && error !== undefined && undecodable === undefined) {
            return callback(fetchError(docUrl, transportFailure(error, timedOut), settings));
          }
          const status = undecodable?.head.status ?? (response as { status: number }).status;
          if (status !== 200) {
            const retryable = status >= 500 || status === 408 || status === 429;
            return callback(
              new WsdlDocumentError(
                docUrl,
                retryable ? 'wsdl_unreachable' : 'wsdl_invalid',
                `answered HTTP ${status}${typeof body === 'string' && body.trim() !== '' ? `: ${bodySnippet(body)}` : ''}`,
                retryable,
              ),
            );
          }
          // The same document comes back in the same encoding: not worth fetching again.
          if (undecodable !== undefined)
            return callback(
              new WsdlDocumentError(docUrl, 'wsdl_invalid', undecodable.message, false),
            );
          const text = typeof body === 'string' ? body : '';
          const finalUrl = finalUrlOf(response) ?? docUrl;
          finalUrls.set(docUrl, finalUrl);
          bodies.set(docUrl, text);
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
    customDeserializer: KEEP_TYPED_TEXT,
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
        if (parentUri !== undefined) {
          const cycle = importCycle(location, parentUri, importedBy, bodies);
          if (cycle !== undefined)
            throw new WsdlDocumentError(parentUri, 'wsdl_invalid', cycle, false);
          if (location !== url && !importedBy.has(location)) importedBy.set(location, parentUri);
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
    // The library tripped over a document that is not XML (`Cannot set properties of null`, or
    // sax's "Text data outside of root node" for any document, with a 0-based line and no
    // document named): say which document, and where it goes wrong (1-based).
    const malformed = malformedDocument(documents);
    if (malformed !== undefined) {
      return fail('wsdl_invalid', malformed.message, false, malformed.url);
    }
    // sax reports "…\nLine: 3\nColumn: 7\nChar: x", its line 0-based: one line, counted from 1.
    const oneLine = message
      .replace(/\bLine: (\d+)/, (_all, line: string) => `Line: ${Number(line) + 1}`)
      .replace(/\s*\n\s*/g, ', ');
    return fail('wsdl_invalid', `not a WSDL the SOAP library can read: ${oneLine}`, false);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Why importing `location` from `importer` closes a cycle back to a WSDL document still loading
 * (the WSDL itself or one that imports `importer`); undefined when it does not. The soap package
 * loads such a document a second time and merges half-loaded definitions: depending on the
 * order of the imports, a port's operations come out empty, without an error. A cycle of XML
 * Schemas (`xsd:import` back and forth, which schemas may do) resolves correctly and is let be.
 */
function importCycle(
  location: string,
  importer: string,
  importedBy: ReadonlyMap<string, string>,
  bodies: ReadonlyMap<string, string>,
): string | undefined {
  // The documents loading now, from the WSDL down to `importer` (the WSDL has no importer).
  const chain = [importer];
  let parent = importedBy.get(importer);
  while (parent !== undefined && !chain.includes(parent)) {
    chain.unshift(parent);
    parent = importedBy.get(parent);
  }
  const from = chain.indexOf(location);
  if (from === -1 || !isWsdlDocument(bodies.get(location) ?? '')) return undefined;
  const why = 'the SOAP library cannot load a WSDL whose imports lead back to it';
  if (location === importer) return `imports itself: ${why}; remove that import`;
  const cycle = [...chain.slice(from), location].join(' → ');
  return `imports ${location} back (an import cycle: ${cycle}): ${why}; remove one of these imports`;
}

/** Whether `body`'s root element is a WSDL's `definitions` (not an XML Schema). */
function isWsdlDocument(body: string): boolean {
  const prolog =
    /^\uFEFF?\s*(?:(?:<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>[]*(?:\[[\s\S]*?\])?\s*>)\s*)*/;
  const rest = body.slice(prolog.exec(body)?.[0].length ?? 0);
  return /^<(?:[\w.-]+:)?definitions[\s/>]/.test(rest);
}

/** The first document that is empty or not well-formed XML, and what is wrong with it. */
function malformedDocument(
  documents: readonly { url: string; body: string }[],
): { url: string; message: string } | undefined {
  for (const doc of documents) {
    if (doc.body.trim() === '') return { url: doc.url, message: 'the document is empty' };
    const error = xmlSyntaxError(doc.body);
    if (error !== undefined) {
      return {
        url: doc.url,
        message: `not well-formed XML: ${error.message} (line ${error.line}, column ${error.column})`,
      };
    }
  }
  return undefined;
}

/** The URL a response finally came from (follow-redirects records it on the last response). */
function finalUrlOf(response: unknown): string | undefined {
  const last = (response as { request?: { res?: { responseUrl?: unknown } } } | undefined)?.request
    ?.res?.responseUrl;
  return typeof last === 'string' && last !== '' ? last : undefined;
}
