/**
 * Verified API keys, reused for a second: a dialer calls with the same key hundreds of times a
 * second, and looking the key and its user's permissions up on every request was the largest
 * share of an IVR invocation's CPU. docs/accounts.md states the window.
 *
 * - A change made through an AccountStore of this process (a revoked key, a disabled user, a
 *   grant or role change) applies from the next request: it bumps `accountsVersion()`, and an
 *   entry read before the change is not used after it.
 * - A change made elsewhere (another API process, the CLI) applies within `ttlMs` (1 s).
 * - Only keys that verified are kept; an unknown or revoked key is looked up every time.
 */
import type { Principal } from '../domain/accounts.js';
import { accountsVersion } from '../store/user-rows.js';

export const API_KEY_CACHE_MS = 1000;

interface Entry {
  at: number;
  version: number;
  principal: Promise<Principal | null>;
}

export interface ApiKeyCacheOptions {
  /** How long a verified key serves further requests (default 1000 ms; 0: never reused). */
  ttlMs?: number;
  /** Monotonic milliseconds (default `performance.now`); tests drive the window with it. */
  clock?: () => number;
  maxEntries?: number;
}

export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly clock: () => number;
  private readonly maxEntries: number;

  constructor(
    private readonly load: (hash: string) => Promise<Principal | null>,
    options: ApiKeyCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? API_KEY_CACHE_MS;
    this.clock = options.clock ?? (() => performance.now());
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** The principal of the key whose SHA-256 is `hash`, or null when it does not verify. */
  get(hash: string): Promise<Principal | null> {
    if (this.ttlMs <= 0) return this.load(hash);
    const now = this.clock();
    const version = accountsVersion();
    const hit = this.entries.get(hash);
    if (hit !== undefined && hit.version === version && now - hit.at < this.ttlMs) {
      return hit.principal;
    }
    const principal = this.load(hash);
    this.entries.delete(hash);
    this.entries.set(hash, { at: now, version, principal });
    if (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    const forget = () => {
      if (this.entries.get(hash)?.principal === principal) this.entries.delete(hash);
    };
    principal.then((found) => {
      if (found === null) forget();
    }, forget);
    return principal;
  }
}
