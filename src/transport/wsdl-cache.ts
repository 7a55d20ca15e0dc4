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
 * Loading itself (the WSDL and its imports, under the policy and the caps) is wsdl-load.ts.
 */
import type { PolicyAgents } from './safe-connect.js';
import { loadWsdl, type LoadedWsdl, type WsdlFailure } from './wsdl-load.js';

export type { LoadedWsdl, WsdlFailure } from './wsdl-load.js';

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
