/**
 * The user profile service (sticky bucketing; Optimizely Agent's POST /v1/lookup and /v1/save), kept
 * in DynamoDB so every container sees the same, keyed by the person's stable experiment id: the
 * bridge the SDK calls during a decision, and the container's copy of saved profiles. agent-state.ts
 * loads a profile with the rest of a person's state, and stores what a decision added.
 */
import { currentDecision } from '../optimizely/decision-scope';
import type { UserProfile, UserProfileService } from '../optimizely/sdk';
import { LruCache } from '../platform/core/lru-cache';
import { isPromise, type MaybePromise } from '../platform/core/maybe-promise';
import type { ExperimentBucketMap, UserProfileStore } from './stores';

/**
 * The user profile service handed to every Optimizely client of the container. It answers and
 * updates the profile of the decision running (optimizely/decision-scope.ts); outside one, or in a
 * decision without a profile, it knows nobody (lookups answer nothing, saves are dropped), which is
 * right for a decision that asked to ignore the profile service.
 */
export class UserProfileBridge implements UserProfileService {
  lookup(userId: string): UserProfile {
    const running = currentDecision()?.profile;
    // The SDK accepts a missing profile; its type says otherwise.
    if (!running || running.userId !== userId) return null as unknown as UserProfile;
    return { user_id: userId, experiment_bucket_map: { ...running.buckets } };
  }

  save(profile: UserProfile): void {
    const running = currentDecision()?.profile;
    if (!running || running.userId !== profile.user_id) return;
    // Merged, not replaced: each flag's decision looks up and saves the whole profile, and an
    // awaited one saves what it looked up before the flags decided after it saved theirs.
    const buckets: ExperimentBucketMap = { ...running.buckets };
    for (const [experimentId, entry] of Object.entries(profile.experiment_bucket_map)) {
      if (entry?.variation_id) buckets[experimentId] = { variation_id: entry.variation_id };
    }
    running.buckets = buckets;
    running.saved = buckets;
  }
}

/**
 * Saved profiles as this container last read or wrote them, for `ttlMs` (IDENTITY_CACHE_TTL_MS): a
 * returning person's decide reads nothing. Safe because a profile only gains entries between reads
 * (a decision adds one; nothing but an operator's save or an erasure removes one): a copy up to
 * `ttlMs` old may lack an entry another container added (that decision buckets again, on the same
 * id and datafile, so the same variation unless the traffic allocation changed), and writes add
 * entries to what is stored (`UserProfileStore.addEntries`), never dropping another container's. An
 * erased person's profile can be served from here for up to `ttlMs`, as their identity can
 * (docs/segment-setup.md, what still holds deleted data).
 */
export class ProfileBook {
  private readonly cache: LruCache<string, Promise<ExperimentBucketMap | null>>;
  private readonly held = new WeakMap<Promise<unknown>, { profile: ExperimentBucketMap | null }>();

  constructor(
    readonly store: UserProfileStore,
    options: { ttlMs: number; maxEntries: number; now?: () => number },
  ) {
    this.cache = new LruCache({
      maxEntries: Math.max(1, options.maxEntries),
      ttlMs: options.ttlMs,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** The person's saved profile (null: none), at once when this container holds it. */
  get(sdkKey: string, userId: string): MaybePromise<ExperimentBucketMap | null> {
    const key = `${sdkKey}\u0000${userId}`;
    let loading = this.cache.get(key);
    if (!loading) {
      const started = this.store.get(sdkKey, userId);
      loading = started;
      this.cache.set(key, started);
      started.then(
        (profile) => this.held.set(started, { profile }),
        // A failed read is not cached: the next request asks again.
        () => {
          if (this.cache.get(key) === started) this.cache.delete(key);
        },
      );
    }
    const held = this.held.get(loading);
    return held ? held.profile : loading;
  }

  /** Starts reading profiles a request may need, before knowing which (decide's reads go together). */
  prefetch(sdkKey: string, userIds: Iterable<string>): void {
    for (const userId of userIds) {
      const read = this.get(sdkKey, userId);
      if (isPromise(read)) read.catch(() => undefined);
    }
  }

  /** Adds the entries a decision made to the stored profile (read as `base`), and holds the result. */
  async add(
    sdkKey: string,
    userId: string,
    base: ExperimentBucketMap | null,
    entries: ExperimentBucketMap,
  ): Promise<void> {
    this.hold(sdkKey, userId, await this.store.addEntries(sdkKey, userId, base, entries));
  }

  /** Replaces the stored profile (Agent's save) and holds it. */
  async put(sdkKey: string, userId: string, buckets: ExperimentBucketMap): Promise<void> {
    this.forget(sdkKey, userId);
    await this.store.put(sdkKey, userId, buckets);
    this.hold(sdkKey, userId, buckets);
  }

  forget(sdkKey: string, userId: string): void {
    this.cache.delete(`${sdkKey}\u0000${userId}`);
  }

  clear(): void {
    this.cache.clear();
  }

  private hold(sdkKey: string, userId: string, profile: ExperimentBucketMap): void {
    const known = Promise.resolve(profile);
    this.held.set(known, { profile });
    this.cache.set(`${sdkKey}\u0000${userId}`, known);
  }
}
