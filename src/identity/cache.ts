/**
 * A bounded in-container cache in front of an IdentityReader, so a warm decide for a known person
 * makes no DynamoDB request and a miss makes the reader's one.
 *
 * - Keyed by the request's ordered identifier list (resolve() answers for the first known one).
 * - Bounded by IDENTITY_CACHE_MAX_ENTRIES (least recently used evicted first, platform/core/lru-cache.ts).
 * - Entries live IDENTITY_CACHE_TTL_MS, which bounds how stale traits, audiences and merges can be
 *   on a warm container.
 * - Negative results (nobody known) are cached too, but only for IDENTITY_NEGATIVE_CACHE_TTL_MS
 *   (short): anonymous traffic repeats unknown ids at high rates and would otherwise read DynamoDB
 *   on every call, while the short TTL bounds how long a newly linked id keeps its anonymous answer.
 * - Concurrent misses for the same key share one read.
 */
import { LruCache } from '../platform/core/lru-cache';
import { type Identifier, identifierListKey } from './identifiers';
import type { IdentityReader, ResolvedProfile } from './model';

export interface IdentityCacheOptions {
  ttlMs: number;
  negativeTtlMs: number;
  maxEntries: number;
  now?: () => number;
}

export class CachedIdentityReader implements IdentityReader {
  private readonly entries: LruCache<string, { profile: ResolvedProfile | null }>;
  private readonly inflight = new Map<string, Promise<ResolvedProfile | null>>();
  private readonly negativeTtlMs: number;

  constructor(
    private readonly reader: IdentityReader,
    options: IdentityCacheOptions,
  ) {
    this.entries = new LruCache({
      maxEntries: options.maxEntries,
      ttlMs: options.ttlMs,
      ...(options.now ? { now: options.now } : {}),
    });
    this.negativeTtlMs = Math.min(options.negativeTtlMs, options.ttlMs);
  }

  held(identifiers: readonly Identifier[]): ResolvedProfile | null | undefined {
    return this.entries.get(identifierListKey(identifiers))?.profile;
  }

  async resolve(identifiers: readonly Identifier[]): Promise<ResolvedProfile | null> {
    const key = identifierListKey(identifiers);
    const entry = this.entries.get(key);
    if (entry) return entry.profile;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.reader
        .resolve(identifiers)
        .then((profile) => {
          if (profile) this.entries.set(key, { profile });
          else this.entries.set(key, { profile }, this.negativeTtlMs);
          return profile;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /**
   * Holds what another path learned about these identifiers (the Profile API read-through), so the
   * next request for them is a hit, replacing a negative entry.
   */
  remember(identifiers: readonly Identifier[], profile: ResolvedProfile): void {
    this.entries.set(identifierListKey(identifiers), { profile });
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
