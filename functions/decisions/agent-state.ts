/**
 * Optimizely Agent's per-user state, kept in DynamoDB so every container sees the same: forced
 * variations (POST /v1/override) and the user profile service (sticky bucketing, POST /v1/lookup
 * and /v1/save). Both are keyed by the person's stable experiment id, so a login or a merge keeps
 * them. The Optimizely SDK decides synchronously, so both are loaded before a decision and put in
 * place only for its duration:
 *
 * - overrides through `client.setForcedVariation`, cleared again right after (the SDK keeps forced
 *   variations in the client, which every request of the container shares);
 * - the profile through one `UserProfileService` per container whose lookup answers the profile
 *   loaded for the running decision, and whose save collects what the SDK wants stored.
 */
import type { Client, UserProfile, UserProfileService } from '@optimizely/optimizely-sdk';
import { LruCache } from '../core/lru-cache';
import type { ExperimentBucketMap, OverrideStore, UserProfileStore } from '../storage/agent-stores';
import { type FailOpenPolicy, readOrFailOpen, writeOrFailOpen } from './fail-open';

export interface OverrideChange {
  /** The variation key the override had before, or null when there was none. */
  previous: string | null;
}

/**
 * The forced variations of every project, read one project at a time (one Query) and held for
 * `ttlMs`: an override set in one container reaches the others within that time, and a decide
 * pays no request for overrides in steady state. The container that writes sees its change at once.
 */
export class OverrideBook {
  private readonly cache: LruCache<string, Promise<Map<string, Map<string, string>>>>;

  constructor(
    private readonly store: OverrideStore,
    options: { ttlMs: number; now?: () => number },
  ) {
    this.cache = new LruCache({
      maxEntries: 20,
      ttlMs: options.ttlMs,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** Experiment key → variation key forced for this person, in this project. */
  async forUser(sdkKey: string, userId: string): Promise<ReadonlyMap<string, string>> {
    let loading = this.cache.get(sdkKey);
    if (!loading) {
      loading = this.store.list(sdkKey);
      this.cache.set(sdkKey, loading);
      // A failed read is not cached: the next request asks again.
      loading.catch(() => this.cache.delete(sdkKey));
    }
    return (await loading).get(userId) ?? new Map();
  }

  async set(
    sdkKey: string,
    userId: string,
    experimentKey: string,
    variationKey: string,
  ): Promise<OverrideChange> {
    const previous = await this.store.get(sdkKey, userId, experimentKey);
    await this.store.put(sdkKey, userId, experimentKey, variationKey);
    this.cache.delete(sdkKey);
    return { previous };
  }

  async remove(sdkKey: string, userId: string, experimentKey: string): Promise<OverrideChange> {
    const previous = await this.store.get(sdkKey, userId, experimentKey);
    if (previous !== null) await this.store.remove(sdkKey, userId, experimentKey);
    this.cache.delete(sdkKey);
    return { previous };
  }
}

/** Runs a synchronous decision with the person's overrides in place, and clears them after. */
export function withOverrides<T>(
  client: Client,
  userId: string,
  overrides: ReadonlyMap<string, string>,
  decide: () => T,
): T {
  if (overrides.size === 0) return decide();
  for (const [experimentKey, variationKey] of overrides) {
    // An override naming an experiment or variation the datafile lacks is ignored, as in Agent.
    client.setForcedVariation(experimentKey, userId, variationKey);
  }
  try {
    return decide();
  } finally {
    for (const experimentKey of overrides.keys()) client.setForcedVariation(experimentKey, userId, null);
  }
}

interface Running {
  userId: string;
  buckets: ExperimentBucketMap;
  saved: ExperimentBucketMap | null;
}

/**
 * The user profile service handed to every Optimizely client of the container. Outside `run` it
 * knows nobody (lookups answer nothing, saves are dropped), which is right for a decision that
 * asked to ignore the profile service.
 */
export class UserProfileBridge implements UserProfileService {
  private running: Running | null = null;

  lookup(userId: string): UserProfile {
    const running = this.running;
    // The SDK accepts a missing profile; its type says otherwise.
    if (!running || running.userId !== userId) return null as unknown as UserProfile;
    return { user_id: userId, experiment_bucket_map: { ...running.buckets } };
  }

  save(profile: UserProfile): void {
    const running = this.running;
    if (!running || running.userId !== profile.user_id) return;
    const buckets: ExperimentBucketMap = {};
    for (const [experimentId, entry] of Object.entries(profile.experiment_bucket_map)) {
      if (entry?.variation_id) buckets[experimentId] = { variation_id: entry.variation_id };
    }
    running.buckets = buckets;
    running.saved = buckets;
  }

  /** Runs part of a decision as if no profile service were there (nothing looked up or saved). */
  without<T>(decide: () => T): T {
    const running = this.running;
    this.running = null;
    try {
      return decide();
    } finally {
      this.running = running;
    }
  }

  /**
   * Runs a synchronous decision with this person's profile; `saved` is the profile to store when
   * the SDK changed it, else null.
   */
  run<T>(
    userId: string,
    buckets: ExperimentBucketMap,
    decide: () => T,
  ): { result: T; saved: ExperimentBucketMap | null } {
    const running: Running = { userId, buckets, saved: null };
    this.running = running;
    try {
      return { result: decide(), saved: running.saved };
    } finally {
      this.running = null;
    }
  }
}

/** What a decision needs of Agent's state, and where it lives. Each part is off unless enabled. */
export interface AgentState {
  overrides: OverrideBook | null;
  profiles: { store: UserProfileStore; bridge: UserProfileBridge } | null;
  /** Decisions go on without state that could not be read (fail-open.ts); unset: they fail. */
  failOpen?: FailOpenPolicy;
}

/** One person's state for one project, loaded before a decision. */
export interface LoadedState {
  overrides: ReadonlyMap<string, string>;
  /** Null when the profile service is off or the request ignores it. */
  profile: ExperimentBucketMap | null;
}

export async function loadState(
  state: AgentState,
  sdkKey: string,
  userId: string,
  useProfile: boolean,
): Promise<LoadedState> {
  const { overrides: book, profiles } = state;
  const [overrides, profile] = await Promise.all([
    book
      ? readOrFailOpen(state.failOpen, 'overrides', () => book.forUser(sdkKey, userId)).then((r) =>
          r.ok ? r.value : new Map<string, string>(),
        )
      : new Map<string, string>(),
    // A profile that could not be read is not used, and so never saved over the stored one.
    profiles && useProfile
      ? readOrFailOpen(state.failOpen, 'profile', () => profiles.store.get(sdkKey, userId)).then((r) =>
          r.ok ? (r.value ?? {}) : null,
        )
      : null,
  ]);
  return { overrides, profile };
}

/**
 * Runs a synchronous decision for one person with their overrides and profile in place. `saved`
 * is the profile to store (`storeProfile`) when the SDK changed it, else null.
 */
export function decideWithState<T>(
  state: AgentState,
  client: Client,
  userId: string,
  loaded: LoadedState,
  decide: () => T,
): { result: T; saved: ExperimentBucketMap | null } {
  const withForced = () => withOverrides(client, userId, loaded.overrides, decide);
  if (!state.profiles || loaded.profile === null) return { result: withForced(), saved: null };
  return state.profiles.bridge.run(userId, loaded.profile, withForced);
}

/** Stores a profile the SDK changed during a decision (nothing when it did not). */
export async function storeProfile(
  state: AgentState,
  sdkKey: string,
  userId: string,
  saved: ExperimentBucketMap | null,
): Promise<void> {
  const profiles = state.profiles;
  if (saved && profiles)
    await writeOrFailOpen(state.failOpen, 'profile', () => profiles.store.put(sdkKey, userId, saved));
}
