/**
 * The one bounded in-container cache: least-recently-used eviction over a Map (insertion order is
 * recency order) with a time-to-live per entry. Used for resolved identities, account traits,
 * datafiles and Optimizely clients per SDK key, and SDK keys known to have no datafile.
 *
 * Recency is approximate on purpose: a hit moves an entry to the recent end only once it has
 * drifted a quarter of the way towards eviction, so hot entries stay safe without a delete and
 * insert on every hit (the decide hot path reads this cache on every request).
 */

export interface LruCacheOptions {
  maxEntries: number;
  /** Default time to live of an entry in ms; 0 stores nothing, Infinity never expires. */
  ttlMs: number;
  now?: () => number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
  /** Insert counter value when the entry last moved to the recent end. */
  seq: number;
}

export class LruCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private readonly now: () => number;
  private seq = 0;

  constructor(private readonly options: LruCacheOptions) {
    if (!(options.maxEntries >= 1)) throw new RangeError('LruCache needs maxEntries ≥ 1');
    this.now = options.now ?? Date.now;
  }

  /** The live value, or undefined when absent or expired (an expired entry is dropped). */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // An entry that never expires needs no clock read (a cache of digests is read on every request).
    if (entry.expiresAt !== Number.POSITIVE_INFINITY && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    if (this.seq - entry.seq > this.options.maxEntries / 4) {
      entry.seq = ++this.seq;
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /** Stores `value` for `ttlMs` (default: the cache's), evicting the least recently used beyond the bound. */
  set(key: K, value: V, ttlMs: number = this.options.ttlMs): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs, seq: ++this.seq });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Live values, oldest first (expired entries are skipped, not dropped). */
  *values(): IterableIterator<V> {
    const now = this.now();
    for (const entry of this.entries.values()) if (entry.expiresAt > now) yield entry.value;
  }
}
