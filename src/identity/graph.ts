/**
 * The identity graph in memory: the profiles, accounts and identifier index an ingest loaded, and
 * the pure rules that apply identity changes to them. No I/O here; the ingest use case loads the
 * working set, applies a batch with `applyChange`, and turns the recorded effects into writes.
 */

import { dict, own } from '../platform/core/dict';
import { compareAnchorTies } from './experiment-id';
import { type Identifier, identifierKey } from './identifiers';
import type { TraitValue } from './model';
import {
  type AccountState,
  anchorOf,
  emptyProfile,
  firstSighting,
  mergeStamped,
  type ProfileState,
  type Stamped,
  stampAll,
  supersedes,
} from './profile';
import { compareByPriority, type IdentityRules, isBlocked, limitFor } from './rules';

/**
 * An identifier of a change. A source that records when it first saw each identifier (Segment's
 * Profile API `created_at`, Profiles Sync's `timestamp`) says so in `firstSeen`, so the profile's
 * anchor, and with it the experiment id, is the one the webhook would have chosen from the events
 * themselves. Without it, the change's own timestamp is the identifier's sighting.
 */
export interface ChangeIdentifier extends Identifier {
  firstSeen?: number;
}

/**
 * One Segment event (or one person as another Segment source knows them) reduced to what identity
 * resolution needs.
 *
 * - `link`: links its identifiers into one profile (merging or creating as Segment Unify would).
 * - `attach`: adds traits, audiences or an account to the profile its identifiers already belong
 *   to, and creates nothing (a Profiles Sync traits row whose person is not loaded is refused).
 * - `delete`: Segment's user deletion.
 */
export interface IdentityChange {
  /** De-duplication key: Segment's messageId. */
  messageId: string;
  kind: 'link' | 'attach' | 'delete';
  /** Event timestamp, epoch ms. */
  at: number;
  identifiers: ChangeIdentifier[];
  traits: Record<string, TraitValue>;
  /** Per-trait update times when the source records them (epoch ms; default `at`). */
  traitTimes?: Record<string, number>;
  /** Engage audience key → member or not. */
  audiences: Record<string, boolean>;
  /** group: the account joined (when, if the source knows it better than `at`) and its traits. */
  account?: { id: string; traits: Record<string, TraitValue>; joinedAt?: number };
}

export interface GraphState {
  profiles: Map<string, ProfileState>;
  /** Identifier key → profile id, for live identifiers. */
  index: Map<string, string>;
  accounts: Map<string, AccountState>;
}

/** What applying changes did, so the caller knows what to write. */
export interface GraphEffects {
  /** Profiles whose state changed (created, updated, or survivors of a merge). */
  changedProfiles: Set<string>;
  /** Profiles merged into another or deleted; value = survivor, or null when deleted. */
  removedProfiles: Map<string, string | null>;
  /** Account id → the trait updates this batch applied (LWW, so re-applying them is harmless). */
  accountUpdates: Map<string, Record<string, Stamped<TraitValue>>>;
  /** Account id → profiles whose membership of it this batch created, moved (merge) or ended (delete). */
  accountMembers: Map<string, Set<string>>;
  /** Identifier keys whose owner changed (linked, moved by a merge, or removed by a delete). */
  touchedIdentifiers: Map<string, Identifier>;
}

export type ChangeOutcome =
  | { status: 'applied'; profileId: string; changed: boolean }
  | { status: 'deleted'; profileId: string | null }
  | { status: 'ignored'; reason: string };

export function emptyGraph(): GraphState {
  return { profiles: new Map(), index: new Map(), accounts: new Map() };
}

export function emptyEffects(): GraphEffects {
  return {
    changedProfiles: new Set(),
    removedProfiles: new Map(),
    accountUpdates: new Map(),
    accountMembers: new Map(),
    touchedIdentifiers: new Map(),
  };
}

/** Puts a profile (loaded from storage) into the graph and indexes its identifiers. */
export function addProfile(graph: GraphState, profile: ProfileState): void {
  graph.profiles.set(profile.id, profile);
  for (const identifier of profile.identifiers) graph.index.set(identifierKey(identifier), profile.id);
}

function usable(rules: IdentityRules, identifiers: readonly ChangeIdentifier[]): ChangeIdentifier[] {
  const seen = new Map<string, ChangeIdentifier>();
  for (const identifier of identifiers) {
    if (isBlocked(rules, identifier)) continue;
    seen.set(identifierKey(identifier), identifier);
  }
  return [...seen.values()].sort((a, b) => compareByPriority(rules, a, b));
}

function matchedProfiles(graph: GraphState, identifiers: readonly Identifier[]): string[] {
  const ids: string[] = [];
  for (const identifier of identifiers) {
    const owner = graph.index.get(identifierKey(identifier));
    if (owner !== undefined && !ids.includes(owner)) ids.push(owner);
  }
  return ids;
}

function breaksLimits(
  rules: IdentityRules,
  graph: GraphState,
  profileIds: readonly string[],
  extra: readonly Identifier[],
): boolean {
  const byType = new Map<string, Set<string>>();
  const add = (i: Identifier) => {
    let values = byType.get(i.type);
    if (!values) {
      values = new Set();
      byType.set(i.type, values);
    }
    values.add(i.value);
  };
  for (const id of profileIds) for (const i of graph.profiles.get(id)?.identifiers ?? []) add(i);
  for (const i of extra) add(i);
  for (const [type, values] of byType) if (values.size > limitFor(rules, type)) return true;
  return false;
}

function linkIdentifier(
  graph: GraphState,
  effects: GraphEffects,
  profile: ProfileState,
  identifier: Identifier,
  at: number,
): boolean {
  const key = identifierKey(identifier);
  const existing = profile.identifiers.find(
    (i) => i.type === identifier.type && i.value === identifier.value,
  );
  if (existing) {
    if (at < existing.firstSeen) {
      existing.firstSeen = at;
      return true;
    }
    return false;
  }
  profile.identifiers.push({ type: identifier.type, value: identifier.value, firstSeen: at });
  graph.index.set(key, profile.id);
  effects.touchedIdentifiers.set(key, { type: identifier.type, value: identifier.value });
  return true;
}

/** The one of two profiles seen first, whose experiment id a merge keeps (experiment-id.ts). */
function olderOf(rules: IdentityRules, a: ProfileState, b: ProfileState): ProfileState {
  const at = firstSighting(a) - firstSighting(b);
  if (at !== 0) return at < 0 ? a : b;
  const anchorA = anchorOf(rules, a)?.anchor;
  const anchorB = anchorOf(rules, b)?.anchor;
  if (!anchorA || !anchorB) return anchorA ? a : b;
  return compareAnchorTies(rules, anchorA, anchorB) <= 0 ? a : b;
}

/**
 * Folds `from` into `into` (identifiers, traits, audiences, memberships) and forgets `from`. The
 * merged profile keeps the experiment id of the one seen first: computed anchors do that by
 * themselves (the earliest sighting of the union is the older one's); a legacy pin follows it.
 */
function mergeProfiles(
  rules: IdentityRules,
  graph: GraphState,
  effects: GraphEffects,
  into: ProfileState,
  from: ProfileState,
): void {
  const pin = olderOf(rules, into, from).pinnedAnchor;
  for (const identifier of from.identifiers) {
    const key = identifierKey(identifier);
    graph.index.delete(key);
    linkIdentifier(graph, effects, into, identifier, identifier.firstSeen);
    effects.touchedIdentifiers.set(key, { type: identifier.type, value: identifier.value });
  }
  mergeStamped(into.traits, from.traits);
  mergeStamped(into.audiences, from.audiences);
  for (const [accountId, membership] of Object.entries(from.accounts)) {
    const current = own(into.accounts, accountId);
    if (!current || membership.joinedAt < current.joinedAt) into.accounts[accountId] = { ...membership };
    noteMember(effects, accountId, from.id);
    noteMember(effects, accountId, into.id);
  }
  if (pin) into.pinnedAnchor = pin;
  else delete into.pinnedAnchor;
  graph.profiles.delete(from.id);
  effects.changedProfiles.delete(from.id);
  effects.removedProfiles.set(from.id, into.id);
  // Anything previously merged into `from` now lives in `into`.
  for (const [removed, survivor] of effects.removedProfiles) {
    if (survivor === from.id) effects.removedProfiles.set(removed, into.id);
  }
}

/**
 * Applies one change, as Segment Unify would: link the event's identifiers to the profile they
 * match, merging every matched profile into one unless that would break a per-type limit; then
 * the lowest-priority identifier of the event is dropped and matching retried. Identifiers dropped
 * that way are still linked if no other profile holds them and they fit. An identifier never
 * belongs to two profiles.
 */
export function applyChange(
  rules: IdentityRules,
  graph: GraphState,
  effects: GraphEffects,
  change: IdentityChange,
  newProfileId: () => string,
): ChangeOutcome {
  const identifiers = usable(rules, change.identifiers);
  if (change.kind === 'delete') return applyDelete(graph, effects, identifiers);
  if (identifiers.length === 0)
    return { status: 'ignored', reason: 'no usable identifier (all blocked or empty)' };

  const active = [...identifiers];
  const dropped: ChangeIdentifier[] = [];
  let matched = matchedProfiles(graph, active);
  while (active.length > 1 && breaksLimits(rules, graph, matched, active)) {
    dropped.unshift(active.pop()!);
    matched = matchedProfiles(graph, active);
  }
  if (change.kind === 'attach' && matched.length === 0) {
    return {
      status: 'ignored',
      reason: 'no profile holds these identifiers yet (their person is not loaded)',
    };
  }
  const sighted = (identifier: ChangeIdentifier) => Math.min(identifier.firstSeen ?? change.at, change.at);

  let profile: ProfileState;
  let changed = false;
  if (matched.length === 0) {
    profile = emptyProfile(newProfileId());
    graph.profiles.set(profile.id, profile);
    changed = true;
  } else {
    profile = graph.profiles.get(matched[0]!)!;
    for (const other of matched.slice(1)) {
      mergeProfiles(rules, graph, effects, profile, graph.profiles.get(other)!);
      changed = true;
    }
  }
  for (const identifier of active)
    changed = linkIdentifier(graph, effects, profile, identifier, sighted(identifier)) || changed;
  for (const identifier of dropped) {
    const owner = graph.index.get(identifierKey(identifier));
    if (owner === profile.id) {
      changed = linkIdentifier(graph, effects, profile, identifier, sighted(identifier)) || changed;
    } else if (owner === undefined && !breaksLimits(rules, graph, [profile.id], [identifier])) {
      changed = linkIdentifier(graph, effects, profile, identifier, sighted(identifier)) || changed;
    }
  }

  changed = mergeStamped(profile.traits, stampTraits(change)) || changed;
  changed = mergeStamped(profile.audiences, stampAll(change.audiences, change.at)) || changed;
  if (change.account) {
    const accountId = change.account.id;
    const joinedAt = Math.min(change.account.joinedAt ?? change.at, change.at);
    const membership = own(profile.accounts, accountId);
    if (!membership || joinedAt < membership.joinedAt) {
      profile.accounts[accountId] = { joinedAt };
      noteMember(effects, accountId, profile.id);
      changed = true;
    }
    applyAccountTraits(graph, effects, accountId, stampAll(change.account.traits, change.at));
  }
  if (changed) effects.changedProfiles.add(profile.id);
  return { status: 'applied', profileId: profile.id, changed };
}

/** The change's traits, each stamped with its own update time when the source gave one. */
function stampTraits(change: IdentityChange): Record<string, Stamped<TraitValue>> {
  const stamped = stampAll(change.traits, change.at);
  if (change.traitTimes) {
    for (const [key, at] of Object.entries(change.traitTimes)) {
      const entry = own(stamped, key);
      if (entry && Number.isFinite(at)) entry.at = at;
    }
  }
  return stamped;
}

function applyAccountTraits(
  graph: GraphState,
  effects: GraphEffects,
  accountId: string,
  updates: Record<string, Stamped<TraitValue>>,
): void {
  if (Object.keys(updates).length === 0) return;
  let account = graph.accounts.get(accountId);
  if (!account) {
    account = { id: accountId, traits: dict() };
    graph.accounts.set(accountId, account);
  }
  mergeStamped(account.traits, updates);
  const pending = effects.accountUpdates.get(accountId) ?? dict<Stamped<TraitValue>>();
  for (const [key, update] of Object.entries(updates)) {
    if (supersedes(update, own(pending, key))) pending[key] = update;
  }
  effects.accountUpdates.set(accountId, pending);
}

function noteMember(effects: GraphEffects, accountId: string, profileId: string): void {
  let members = effects.accountMembers.get(accountId);
  if (!members) {
    members = new Set();
    effects.accountMembers.set(accountId, members);
  }
  members.add(profileId);
}

/**
 * What the noted memberships come to once the batch is applied: per account, each noted profile's
 * join time, or null when it is no longer a member (merged away, deleted).
 */
export function memberUpdates(
  graph: GraphState,
  effects: GraphEffects,
): Map<string, Record<string, number | null>> {
  const out = new Map<string, Record<string, number | null>>();
  for (const [accountId, profileIds] of effects.accountMembers) {
    const updates = dict<number | null>();
    for (const profileId of profileIds) {
      const membership = graph.profiles.get(profileId);
      updates[profileId] = membership ? (own(membership.accounts, accountId)?.joinedAt ?? null) : null;
    }
    out.set(accountId, updates);
  }
  return out;
}

function applyDelete(
  graph: GraphState,
  effects: GraphEffects,
  identifiers: readonly Identifier[],
): ChangeOutcome {
  const [profileId] = matchedProfiles(graph, identifiers);
  if (profileId === undefined) return { status: 'deleted', profileId: null };
  const profile = graph.profiles.get(profileId)!;
  for (const identifier of profile.identifiers) {
    const key = identifierKey(identifier);
    graph.index.delete(key);
    effects.touchedIdentifiers.set(key, { type: identifier.type, value: identifier.value });
  }
  for (const accountId of Object.keys(profile.accounts)) noteMember(effects, accountId, profileId);
  graph.profiles.delete(profileId);
  effects.changedProfiles.delete(profileId);
  effects.removedProfiles.set(profileId, null);
  for (const [removed, survivor] of effects.removedProfiles) {
    if (survivor === profileId) effects.removedProfiles.set(removed, null);
  }
  return { status: 'deleted', profileId };
}
