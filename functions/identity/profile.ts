/**
 * The authoritative state of a profile and an account, and the order-independent ways to combine
 * it: every trait and audience membership is last-writer-wins by event timestamp, identifiers keep
 * their earliest sighting, memberships their earliest group call. Any permutation of the same
 * events therefore yields the same state.
 */
import type { Identifier } from './identifiers';
import type { TraitValue } from './model';
import { compareByPriority, type IdentityRules } from './rules';

/** A value with the event timestamp (epoch ms) that set it. */
export interface Stamped<T> {
  value: T;
  at: number;
}

export interface IdentifierRecord extends Identifier {
  /** Earliest event timestamp (epoch ms) that carried this identifier. */
  firstSeen: number;
}

export interface ProfileState {
  id: string;
  identifiers: IdentifierRecord[];
  traits: Record<string, Stamped<TraitValue>>;
  /** Audience key → membership; `false` is kept so a late "entered" cannot undo a newer "exited". */
  audiences: Record<string, Stamped<boolean>>;
  /** Account id → earliest group call timestamp (when the person joined it). */
  accounts: Record<string, { joinedAt: number }>;
}

export interface AccountState {
  id: string;
  traits: Record<string, Stamped<TraitValue>>;
}

function orderKey(value: unknown): string {
  return JSON.stringify(value) ?? '';
}

/**
 * True when `candidate` should replace `current`: a later timestamp wins; on equal timestamps the
 * larger serialised value wins, so the result never depends on arrival order.
 */
export function supersedes<T>(candidate: Stamped<T>, current: Stamped<T> | undefined): boolean {
  if (current === undefined) return true;
  if (candidate.at !== current.at) return candidate.at > current.at;
  return orderKey(candidate.value) > orderKey(current.value);
}

/** Applies LWW updates into `target`; returns true when anything changed. */
export function mergeStamped<T>(
  target: Record<string, Stamped<T>>,
  updates: Record<string, Stamped<T>>,
): boolean {
  let changed = false;
  for (const [key, update] of Object.entries(updates)) {
    if (supersedes(update, target[key])) {
      target[key] = { value: update.value, at: update.at };
      changed = true;
    }
  }
  return changed;
}

export function stampAll<T>(values: Record<string, T>, at: number): Record<string, Stamped<T>> {
  const out: Record<string, Stamped<T>> = {};
  for (const [key, value] of Object.entries(values)) out[key] = { value, at };
  return out;
}

export function emptyProfile(id: string): ProfileState {
  return { id, identifiers: [], traits: {}, audiences: {}, accounts: {} };
}

/**
 * The id Optimizely buckets on: the user_id when the profile has one, else the value of the
 * identifier seen first (earliest event timestamp; ties by priority, type, value). Both depend only
 * on the set of identifiers and their first sightings, not on arrival order.
 */
export function canonicalIdentifier(
  rules: IdentityRules,
  profile: ProfileState,
): IdentifierRecord | undefined {
  const userId = profile.identifiers.find((i) => i.type === 'user_id');
  if (userId) return userId;
  let best: IdentifierRecord | undefined;
  for (const candidate of profile.identifiers) {
    if (
      best === undefined ||
      candidate.firstSeen < best.firstSeen ||
      (candidate.firstSeen === best.firstSeen && compareByPriority(rules, candidate, best) < 0)
    ) {
      best = candidate;
    }
  }
  return best;
}

/**
 * The account used for account-level bucketing: the one joined most recently (the latest first
 * group call); ties by account id. Re-sent group calls do not move it, so bucketing stays stable.
 */
export function primaryAccountId(profile: ProfileState): string | null {
  let best: string | null = null;
  let bestAt = Number.NEGATIVE_INFINITY;
  for (const [id, { joinedAt }] of Object.entries(profile.accounts)) {
    if (joinedAt > bestAt || (joinedAt === bestAt && best !== null && id < best)) {
      best = id;
      bestAt = joinedAt;
    }
  }
  return best;
}

/** What decide needs of a profile, denormalised onto every identifier item. */
export interface ProfileSnapshot {
  profileId: string;
  version: number;
  canonicalId: string;
  identifiers: Identifier[];
  traits: Record<string, TraitValue>;
  audiences: string[];
  accountIds: string[];
  primaryAccountId: string | null;
}

export function profileSnapshot(
  rules: IdentityRules,
  profile: ProfileState,
  version: number,
): ProfileSnapshot {
  const identifiers = [...profile.identifiers]
    .sort((a, b) => compareByPriority(rules, a, b))
    .map(({ type, value }) => ({ type, value }));
  const traits: Record<string, TraitValue> = {};
  for (const key of Object.keys(profile.traits).sort()) traits[key] = profile.traits[key]!.value;
  return {
    profileId: profile.id,
    version,
    canonicalId: canonicalIdentifier(rules, profile)?.value ?? profile.id,
    identifiers,
    traits,
    audiences: Object.keys(profile.audiences)
      .filter((k) => profile.audiences[k]!.value)
      .sort(),
    accountIds: Object.keys(profile.accounts).sort(),
    primaryAccountId: primaryAccountId(profile),
  };
}

export function accountTraitValues(account: AccountState | undefined): Record<string, TraitValue> {
  const traits: Record<string, TraitValue> = {};
  if (!account) return traits;
  for (const key of Object.keys(account.traits).sort()) traits[key] = account.traits[key]!.value;
  return traits;
}
