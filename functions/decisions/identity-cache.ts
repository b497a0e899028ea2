/**
 * A bounded in-container cache in front of an IdentityReader, so a warm decide for a known person
 * makes no DynamoDB request and a miss makes the reader's one.
 *
 * - Keyed by the request's ordered identifier list (resolve() answers for the first known one).
 * - Bounded by IDENTITY_CACHE_MAX_ENTRIES, evicting the least recently used (approximately: a hit
 *   moves an entry to the recent end once it has drifted a quarter of the way to eviction).
 * - Entries live IDENTITY_CACHE_TTL_MS, which bounds how stale traits, audiences and merges can be
 *   on a warm container.
 * - Negative results (nobody known) are cached too, but only for IDENTITY_NEGATIVE_CACHE_TTL_MS
 *   (short): anonymous traffic repeats unknown ids at high rates and would otherwise read DynamoDB
 *   on every call, while the short TTL bounds how long a newly linked id keeps its anonymous answer.
 * - Concurrent misses for the same key share one read.
 */
import type { Identifier, IdentityReader, ResolvedProfile } from '../identity/model';

export interface IdentityCacheOptions {
  ttlMs: number;
  negativeTtlMs: number;
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  profile: ResolvedProfile | null;
  expiresAt: number;
  /** Value of the cache's insert counter when the entry was last moved to the recent end. */
  seq: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
}

export class CachedIdentityReader implements IdentityReader {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<ResolvedProfile | null>>();
  private readonly now: () => number;
  private seq = 0;
  readonly stats: CacheStats = { hits: 0, misses: 0 };

  constructor(
    private readonly reader: IdentityReader,
    private readonly options: IdentityCacheOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async resolve(identifiers: readonly Identifier[]): Promise<ResolvedProfile | null> {
    const key = identifiers.map((i) => `${i.type}\u0000${i.value}`).join('\u0001');
    const entry = this.entries.get(key);
    if (entry) {
      if (entry.expiresAt > this.now()) {
        // Move it to the recent end, but only once it has drifted a quarter of the way to eviction:
        // hot entries stay safe without a delete and insert on every hit.
        if (this.seq - entry.seq > this.options.maxEntries / 4) {
          entry.seq = ++this.seq;
          this.entries.delete(key);
          this.entries.set(key, entry);
        }
        this.stats.hits++;
        return entry.profile;
      }
      this.entries.delete(key);
    }
    this.stats.misses++;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.reader
        .resolve(identifiers)
        .then((profile) => {
          this.store(key, profile);
          return profile;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  clear(): void {
    this.entries.clear();
    this.stats.hits = 0;
    this.stats.misses = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  private store(key: string, profile: ResolvedProfile | null): void {
    const ttl = profile ? this.options.ttlMs : Math.min(this.options.negativeTtlMs, this.options.ttlMs);
    if (ttl <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { profile, expiresAt: this.now() + ttl, seq: ++this.seq });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}
