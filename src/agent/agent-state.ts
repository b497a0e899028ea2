/**
 * Optimizely Agent's per-user state, kept in DynamoDB so every container sees the same: forced
 * variations (POST /v1/override) and the user profile service (sticky bucketing, POST /v1/lookup
 * and /v1/save). Both are keyed by the person's stable experiment id, so a login or a merge keeps
 * them. Both are loaded before a decision and put in place only for its duration, which is
 * synchronous except for a flag with a CMAB rule (its prediction is awaited; decide.ts):
 *
 * - overrides through `client.setForcedVariation`, cleared once the last decision of that person
 *   using them is done (the SDK keeps forced variations in the client, which every request of the
 *   container shares, and an awaited decision reads them after other requests ran);
 * - the profile through one `UserProfileService` per container whose lookup answers the profile
 *   loaded for the decision it is called from (the decision's scope, optimizely/decision-scope.ts,
 *   so an awaited decision finds its own), and whose save collects what the SDK wants stored.
 */
import { currentDecision, type Decided, runDecision } from '../optimizely/decision-scope';
import type { Client, UserProfile, UserProfileService } from '../optimizely/sdk';
import { LruCache } from '../platform/core/lru-cache';
import { finallyMaybe, isPromise, type MaybePromise } from '../platform/core/maybe-promise';
import { type FailOpenPolicy, readOrFailOpen, writeOrFailOpen } from './fail-open';
import type { ExperimentBucketMap, OverrideStore, UserProfileStore } from './stores';

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
  /** The loaded lists themselves, for a synchronous answer once a project's list is in. */
  private readonly held = new WeakMap<Promise<unknown>, Map<string, Map<string, string>>>();

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

  /** Starts loading a project's overrides when they are not held (a decide does so on arrival). */
  prefetch(sdkKey: string): void {
    this.loading(sdkKey).catch(() => undefined);
  }

  /** Experiment key → variation key forced for this person, in this project (at once when held). */
  forUser(sdkKey: string, userId: string): MaybePromise<ReadonlyMap<string, string>> {
    const loading = this.loading(sdkKey);
    const held = this.held.get(loading);
    if (held) return held.get(userId) ?? NONE;
    return loading.then((all) => all.get(userId) ?? NONE);
  }

  private loading(sdkKey: string): Promise<Map<string, Map<string, string>>> {
    let loading = this.cache.get(sdkKey);
    if (!loading) {
      const started = this.store.list(sdkKey);
      loading = started;
      this.cache.set(sdkKey, started);
      started.then(
        (all) => this.held.set(started, all),
        // A failed read is not cached: the next request asks again.
        () => this.cache.delete(sdkKey),
      );
    }
    return loading;
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

const NONE: ReadonlyMap<string, string> = new Map();

/** Per client and person: decisions running with their overrides set, and every key set for them. */
const forced = new WeakMap<Client, Map<string, { runs: number; keys: Set<string> }>>();

/**
 * Runs a decision with the person's overrides in place, and clears them once it is done. Two
 * decisions of the same person that overlap (an awaited CMAB decision and another request) share
 * them: the last one to finish clears them.
 */
export function withOverrides<T>(
  client: Client,
  userId: string,
  overrides: ReadonlyMap<string, string>,
  decide: () => MaybePromise<T>,
): MaybePromise<T> {
  if (overrides.size === 0) return decide();
  let people = forced.get(client);
  if (!people) {
    people = new Map();
    forced.set(client, people);
  }
  let running = people.get(userId);
  if (!running) {
    running = { runs: 0, keys: new Set() };
    people.set(userId, running);
  }
  running.runs++;
  for (const [experimentKey, variationKey] of overrides) {
    // An override naming an experiment or variation the datafile lacks is ignored, as in Agent.
    client.setForcedVariation(experimentKey, userId, variationKey);
    running.keys.add(experimentKey);
  }
  const done = running;
  return finallyMaybe(decide, () => {
    if (--done.runs > 0) return;
    people.delete(userId);
    for (const experimentKey of done.keys) client.setForcedVariation(experimentKey, userId, null);
  });
}

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

/** What a decision needs of Agent's state, and where it lives. Each part is off unless enabled. */
export interface AgentState {
  overrides: OverrideBook | null;
  profiles: { store: ProfileBook; bridge: UserProfileBridge } | null;
  /** Decisions go on without state that could not be read (fail-open.ts); unset: they fail. */
  failOpen?: FailOpenPolicy;
}

/** One person's state for one project, loaded before a decision. */
export interface LoadedState {
  overrides: ReadonlyMap<string, string>;
  /** The saved entries this decision honours; null when the profile service is off or ignored. */
  profile: ExperimentBucketMap | null;
  /** The profile as stored (null: none, or not read); what a write adds the decision's entries to. */
  stored: ExperimentBucketMap | null;
  /** Saved entries this decision does not honour: kept as they are when the profile is stored again. */
  withheld: ExperimentBucketMap;
}

/**
 * The loaded state with only the saved entries `honour` accepts (experiment id → honoured?); the
 * others are withheld from the decision, not deleted.
 */
export function honourEntries(loaded: LoadedState, honour: (experimentId: string) => boolean): LoadedState {
  if (loaded.profile === null) return loaded;
  let profile: ExperimentBucketMap | undefined;
  const withheld: ExperimentBucketMap = { ...loaded.withheld };
  for (const [experimentId, entry] of Object.entries(loaded.profile)) {
    if (honour(experimentId)) continue;
    profile ??= { ...loaded.profile };
    delete profile[experimentId];
    withheld[experimentId] = entry;
  }
  return profile ? { ...loaded, profile, withheld } : loaded;
}

const NOTHING_LOADED: LoadedState = { overrides: NONE, profile: null, stored: null, withheld: {} };

/**
 * The person's overrides and saved profile, read together; synchronous when the container holds
 * both (or neither part is on), so a warm decide pays no await for them.
 */
export function loadState(
  state: AgentState,
  sdkKey: string,
  userId: string,
  useProfile: boolean,
): MaybePromise<LoadedState> {
  const { overrides: book, profiles } = state;
  if (!book && !(profiles && useProfile)) return NOTHING_LOADED;
  const overrides = book ? orFailOpen(state, 'overrides', () => book.forUser(sdkKey, userId), NONE) : NONE;
  // A profile that could not be read is not used, and so never saved over the stored one.
  const profile =
    profiles && useProfile
      ? orFailOpen<ExperimentBucketMap | null | undefined>(
          state,
          'profile',
          () => profiles.store.get(sdkKey, userId),
          undefined,
        )
      : undefined;
  const loaded = (
    o: ReadonlyMap<string, string>,
    p: ExperimentBucketMap | null | undefined,
  ): LoadedState => ({
    overrides: o,
    profile: p === undefined ? null : (p ?? {}),
    stored: p ?? null,
    withheld: {},
  });
  if (!isPromise(overrides) && !isPromise(profile)) return loaded(overrides, profile);
  return Promise.all([overrides, profile]).then(([o, p]) => loaded(o, p));
}

/** A read that may already be held: as it is when held, else within the fail-open budget (`fallback` when it failed open). */
function orFailOpen<T>(
  state: AgentState,
  part: 'overrides' | 'profile',
  read: () => MaybePromise<T>,
  fallback: T,
): MaybePromise<T> {
  let first: MaybePromise<T>;
  try {
    first = read();
  } catch (error) {
    return Promise.reject(error);
  }
  if (!isPromise(first)) return first;
  return readOrFailOpen(state.failOpen, part, () => first).then((r) => (r.ok ? r.value : fallback));
}

/**
 * Runs a decision for one person with their overrides and profile in place (synchronous unless the
 * decision is): one decision scope (optimizely/decision-scope.ts) collects what the SDK dispatches
 * and saves. `saved` is the profile to store (`storeProfile`) when the SDK changed it, else null;
 * `batches` the decision events, merged per project. `mayAwait`: a flag with a CMAB rule may be
 * decided (decision-scope.ts).
 */
export function decideWithState<T>(
  state: AgentState,
  client: Client,
  userId: string,
  loaded: LoadedState,
  decide: () => MaybePromise<T>,
  mayAwait: boolean,
): MaybePromise<Decided<T>> {
  const profile =
    state.profiles && loaded.profile !== null ? { userId, buckets: loaded.profile, saved: null } : null;
  return runDecision(profile, () => withOverrides(client, userId, loaded.overrides, decide), mayAwait);
}

/**
 * Stores what a decision added to or changed in the person's profile: nothing when every entry the
 * SDK saved was already stored (a returning person), else one write adding those entries.
 * `withheld` entries (not honoured by this decision) are left as they are stored.
 */
export async function storeProfile(
  state: AgentState,
  sdkKey: string,
  userId: string,
  saved: ExperimentBucketMap | null,
  loaded: Pick<LoadedState, 'stored'>,
): Promise<void> {
  const profiles = state.profiles;
  if (!saved || !profiles) return;
  const changes = changedEntries(loaded.stored, saved);
  if (!changes) return;
  await writeOrFailOpen(state.failOpen, 'profile', () =>
    profiles.store.add(sdkKey, userId, loaded.stored, changes),
  );
}

/** The entries of `saved` that `stored` lacks or holds with another variation; null when none. */
export function changedEntries(
  stored: ExperimentBucketMap | null,
  saved: ExperimentBucketMap,
): ExperimentBucketMap | null {
  let changes: ExperimentBucketMap | null = null;
  for (const [experimentId, entry] of Object.entries(saved)) {
    if (
      stored &&
      Object.hasOwn(stored, experimentId) &&
      stored[experimentId]?.variation_id === entry.variation_id
    )
      continue;
    changes ??= {};
    changes[experimentId] = entry;
  }
  return changes;
}
