/**
 * The authoritative state of a profile and an account, and the order-independent ways to combine
 * it: every trait and audience membership is last-writer-wins by event timestamp, identifiers keep
 * their earliest sighting, memberships their earliest group call. Any permutation of the same
 * events therefore yields the same state.
 */
import { dict, own } from '../platform/core/dict';
import { profileAnchor } from './experiment-id';
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
  /**
   * Set only on profiles written before stable experiment ids: their old canonical identifier,
   * kept as the anchor so upgrading changes nobody's variation (experiment-id.ts computes it for
   * every other profile).
   */
  pinnedAnchor?: Identifier;
  traits: Record<string, Stamped<TraitValue>>;
  /** Audience key → membership; `false` is kept so a late "entered" cannot undo a newer "exited". */
  audiences: Record<string, Stamped<boolean>>;
  /** Account id → earliest group call timestamp (when the person joined it). */
  accounts: Record<string, { joinedAt: number }>;
}

export interface AccountState {
  id: string;
  traits: Record<string, Stamped<TraitValue>>;
  /**
   * Its first LISTED_MEMBERS members (profile id → when they joined), for the account's `/links`
   * (docs/profile-api.md). A member merged away or deleted is taken off; one whose profile expired
   * stays until then and is skipped when read.
   */
  members?: Record<string, number>;
}

/** Members an account lists: the earliest joiners (Segment's account `/links` answers at most 20). */
export const LISTED_MEMBERS = 20;

/**
 * Applies membership updates (null: no longer a member) to an account's list, keeping the earliest
 * LISTED_MEMBERS joiners (ties by profile id), so any order of the same updates gives the same list.
 * Returns true when the list changed.
 */
export function mergeMembers(
  account: AccountState,
  updates: Readonly<Record<string, number | null>>,
): boolean {
  const members = dict<number>(Object.entries(account.members ?? {}));
  for (const [profileId, joinedAt] of Object.entries(updates)) {
    if (joinedAt === null) delete members[profileId];
    else if (members[profileId] === undefined || joinedAt < members[profileId]!)
      members[profileId] = joinedAt;
  }
  const kept = Object.entries(members)
    .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, LISTED_MEMBERS);
  const before = JSON.stringify(Object.entries(account.members ?? {}).sort());
  const after = JSON.stringify([...kept].sort());
  if (before === after) return false;
  account.members = dict(kept);
  return true;
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
    if (supersedes(update, own(target, key))) {
      target[key] = { value: update.value, at: update.at };
      changed = true;
    }
  }
  return changed;
}

export function stampAll<T>(values: Record<string, T>, at: number): Record<string, Stamped<T>> {
  const out = dict<Stamped<T>>();
  for (const [key, value] of Object.entries(values)) out[key] = { value, at };
  return out;
}

export function emptyProfile(id: string): ProfileState {
  return { id, identifiers: [], traits: dict(), audiences: dict(), accounts: dict() };
}

/**
 * The id the version before stable experiment ids bucketed on: the user_id when the profile had
 * one, else the identifier seen first (ties by priority). Used only to pin legacy profiles.
 */
export function legacyCanonicalIdentifier(
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

/** The anchor of a profile's experiment id: the pinned legacy one, else the earliest sighting. */
export function anchorOf(
  rules: IdentityRules,
  profile: ProfileState,
): { anchor: IdentifierRecord; rule: 'earliest-identifier' | 'legacy' } | undefined {
  const pinned = profile.pinnedAnchor;
  if (pinned) {
    const record = profile.identifiers.find((i) => i.type === pinned.type && i.value === pinned.value);
    if (record) return { anchor: record, rule: 'legacy' };
  }
  const anchor = profileAnchor(rules, profile.identifiers);
  return anchor ? { anchor, rule: 'earliest-identifier' } : undefined;
}

/** The earliest sighting of any of the profile's identifiers (its age). */
export function firstSighting(profile: ProfileState): number {
  let first = Number.POSITIVE_INFINITY;
  for (const identifier of profile.identifiers) first = Math.min(first, identifier.firstSeen);
  return first;
}

/** What decide needs of a profile, denormalised onto every identifier item. */
export interface ProfileSnapshot {
  profileId: string;
  version: number;
  /** What the experiment id comes from (experiment-id.ts); absent in snapshots of legacy writes. */
  anchor?: Identifier;
  anchorRule?: 'earliest-identifier' | 'legacy';
  /** The profile's user id, when it has one. */
  userId?: string | null;
  /** Legacy snapshots only: the id the old version bucketed on. */
  canonicalId?: string;
  identifiers: IdentifierRecord[];
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
    .map(({ type, value, firstSeen }) => ({ type, value, firstSeen }));
  const traits = dict<TraitValue>();
  for (const key of Object.keys(profile.traits).sort()) traits[key] = profile.traits[key]!.value;
  const anchored = anchorOf(rules, profile);
  return {
    profileId: profile.id,
    version,
    anchor: anchored
      ? { type: anchored.anchor.type, value: anchored.anchor.value }
      : { type: 'profile', value: profile.id },
    anchorRule: anchored?.rule ?? 'earliest-identifier',
    userId: profile.identifiers.find((i) => i.type === 'user_id')?.value ?? null,
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
  const traits = dict<TraitValue>();
  if (!account) return traits;
  for (const key of Object.keys(account.traits).sort()) traits[key] = account.traits[key]!.value;
  return traits;
}
