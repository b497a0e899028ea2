/**
 * Optimizely Agent's per-user state, kept in DynamoDB so every container sees the same: forced
 * variations (overrides.ts) and the user profile service (profiles.ts). Both are keyed by the
 * person's stable experiment id, so a login or a merge keeps them. Both are loaded before a decision
 * and put in place only for its duration, which is synchronous except for a flag with a CMAB rule
 * (its prediction is awaited; decide.ts): the overrides in the client, the profile in the decision's
 * scope (optimizely/decision-scope.ts), which the container's one `UserProfileService` answers from.
 */
import { type Decided, runDecision } from '../optimizely/decision-scope';
import type { Client } from '../optimizely/sdk';
import { isPromise, type MaybePromise } from '../platform/core/maybe-promise';
import { type FailOpenPolicy, readOrFailOpen, writeOrFailOpen } from './fail-open';
import { NONE, type OverrideBook, withOverrides } from './overrides';
import type { ProfileBook, UserProfileBridge } from './profiles';
import type { ExperimentBucketMap } from './stores';

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
 * `withheld` entries (not honoured by this decision) are left as they are stored. With nothing to
 * write it answers undefined, not a promise, so a returning person's decide awaits nothing for it.
 */
export function storeProfile(
  state: AgentState,
  sdkKey: string,
  userId: string,
  saved: ExperimentBucketMap | null,
  loaded: Pick<LoadedState, 'stored'>,
): Promise<void> | undefined {
  const profiles = state.profiles;
  if (!saved || !profiles) return undefined;
  const changes = changedEntries(loaded.stored, saved);
  if (!changes) return undefined;
  return writeOrFailOpen(state.failOpen, 'profile', () =>
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
