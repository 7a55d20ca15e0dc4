/**
 * Promises of rows reused for a short time: a burst of deliveries or IVR calls asks the store for
 * the same few integrations and campaigns many times a second. A failed load is not kept.
 */
export class ShortCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: () => number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return load();
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit !== undefined && now - hit.at < this.ttlMs) return hit.value;
    const value = load();
    this.entries.delete(key);
    this.entries.set(key, { at: now, value });
    if (this.entries.size > this.maxEntries)
      this.entries.delete(this.entries.keys().next().value as string);
    value.catch(() => this.entries.delete(key));
    return value;
  }

  /**
   * As `get`, but a value that is `stale` (older than what the caller knows is stored) is loaded
   * again and replaces the entry; callers that find the same stale value share that one load.
   */
  async getFresh(key: string, load: () => Promise<T>, stale: (value: T) => boolean): Promise<T> {
    const cached = this.get(key, load);
    if (!stale(await cached)) return cached;
    const current = this.entries.get(key);
    if (current !== undefined && current.value !== cached) return current.value;
    this.entries.delete(key);
    return this.get(key, load);
  }

  /** Forgets `key`: the next `get` loads it again. */
  delete(key: string): void {
    this.entries.delete(key);
  }
}
