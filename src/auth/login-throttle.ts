/**
 * Slows password guessing, per account and per client address. After `freeFailures` failures in
 * the window, each further attempt must wait an exponentially growing delay (capped). State is in
 * memory, per process: with several API processes each one throttles on its own (documented in
 * docs/accounts.md, "Sign-in throttling").
 */
import ipaddr from 'ipaddr.js';

export interface ThrottleOptions {
  freeFailures: number;
  windowMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  now: () => number;
}

interface Entry {
  failures: number;
  first: number;
  last: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly options: ThrottleOptions;

  constructor(options: Partial<ThrottleOptions> = {}) {
    this.options = {
      freeFailures: 5,
      windowMs: 15 * 60_000,
      baseDelayMs: 1_000,
      maxDelayMs: 5 * 60_000,
      now: Date.now,
      ...options,
    };
  }

  /** Milliseconds the caller must still wait before trying `keys` again (0: go ahead). */
  waitMs(keys: readonly string[]): number {
    const now = this.options.now();
    let wait = 0;
    for (const key of keys) {
      const entry = this.live(key, now);
      if (entry === undefined || entry.failures < this.options.freeFailures) continue;
      const extra = entry.failures - this.options.freeFailures;
      const delay = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** extra);
      wait = Math.max(wait, entry.last + delay - now);
    }
    return Math.max(0, wait);
  }

  recordFailure(keys: readonly string[]): void {
    const now = this.options.now();
    for (const key of keys) {
      const entry = this.live(key, now) ?? { failures: 0, first: now, last: now };
      entry.failures += 1;
      entry.last = now;
      this.entries.set(key, entry);
    }
    if (this.entries.size > 100_000) this.prune(now);
  }

  /**
   * A sign-in succeeded: `cleared` keys (the account) start over; `undone` keys (the address) only
   * lose the failure counted in advance for this attempt. Clearing the address too would let one
   * address guess at many accounts, signing into its own between guesses to reset the count.
   */
  recordSuccess(cleared: readonly string[], undone: readonly string[] = []): void {
    for (const key of cleared) this.entries.delete(key);
    for (const key of undone) {
      const entry = this.entries.get(key);
      if (entry === undefined) continue;
      entry.failures -= 1;
      if (entry.failures <= 0) this.entries.delete(key);
    }
  }

  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && now - entry.last > this.options.windowMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.last > this.options.windowMs) this.entries.delete(key);
    }
  }
}

/** How much of an IPv6 address is one client's: a /64 is one network's, a home's or a phone's. */
export const IPV6_CLIENT_PREFIX = 64;

/**
 * The throttle's key for a client address. An IPv6 client is counted by its /64: one host
 * there may use any of 2^64 addresses, a new one per guess. An IPv4 address, also one seen as
 * `::ffff:a.b.c.d` on a dual-stack socket, counts alone.
 *
 * ### Examples
 * `throttleAddress('2001:db8:1:2::7')` is `'2001:db8:1:2::/64'`;
 * `throttleAddress('::ffff:198.51.100.1')` is `'198.51.100.1'`.
 */
export function throttleAddress(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${IPV6_CLIENT_PREFIX}`);
  return `${network.toString()}/${IPV6_CLIENT_PREFIX}`;
}
