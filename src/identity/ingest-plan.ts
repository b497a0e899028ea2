/**
 * The pure half of ingest: given the changes of a batch and what storage holds for them, decide
 * what to write. No I/O: `ingest.ts` reads, calls these, and writes.
 *
 * - `readSet`: which identifier items and accounts a batch must read.
 * - `planIngest`: applies the changes in memory in event-timestamp order (graph.ts), then turns the
 *   effects into write units: one unit per group of profiles that share identifiers, merges or
 *   deletes, so each group commits atomically. A unit holds profile puts/deletes conditioned on the
 *   version read, identifier items conditioned on their owner, and the markers of the events that
 *   caused it.
 * - `planAccountWrites`: account trait updates (last writer wins), conditioned on the version read.
 */
import { dict } from '../platform/core/dict';
import {
  addProfile,
  applyChange,
  type ChangeOutcome,
  emptyEffects,
  emptyGraph,
  type GraphEffects,
  type IdentityChange,
  memberUpdates,
} from './graph';
import { type Identifier, identifierKey } from './identifiers';
import {
  type AccountState,
  legacyCanonicalIdentifier,
  mergeMembers,
  mergeStamped,
  type ProfileSnapshot,
  profileSnapshot,
} from './profile';
import { type IdentityRules, isBlocked } from './rules';
import type {
  IdentifierExpectation,
  StoredAccount,
  StoredIdentifier,
  StoredProfile,
  Tombstone,
  WriteOp,
  WriteUnit,
} from './store';

const DAY_SECONDS = 86_400;

/** What storage held for a batch, as read by the ingest loop. */
export interface LoadedState {
  /** Identifier keys the batch asked for (present in storage or not). */
  requested: ReadonlyMap<string, Identifier>;
  identifiers: ReadonlyMap<string, StoredIdentifier>;
  /** Live tombstones of the requested identifiers, by identifier key. */
  tombstones: ReadonlyMap<string, Tombstone>;
  profiles: ReadonlyMap<string, StoredProfile>;
  accounts: ReadonlyMap<string, StoredAccount>;
}

export interface PlanClock {
  /** Epoch ms the events were received: the time of a deletion. */
  receivedAt: number;
  /** Epoch seconds at which profiles and identifiers written now expire. */
  profileExpiresAt: number;
  /** Epoch seconds at which messageId markers written now expire. */
  messageExpiresAt: number;
  /** Epoch seconds at which tombstones written now expire. */
  tombstoneExpiresAt: number;
}

export interface IngestPlan {
  /** Changes that do nothing (no usable identifier), with the reason; they get no marker. */
  ignored: Map<number, string>;
  accountUpdates: GraphEffects['accountUpdates'];
  /** Per account, the members it gained or lost (null) in this batch. */
  accountMembers: Map<string, Record<string, number | null>>;
  units: WriteUnit[];
  /** By unit tag: the changes whose markers the unit carries (redone when it conflicts). */
  unitChanges: number[][];
}

/** Identifier items and accounts the changes at `todo` need read before they can be applied. */
export function readSet(
  changes: readonly IdentityChange[],
  todo: readonly number[],
  rules: IdentityRules,
): { identifiers: Map<string, Identifier>; accountIds: string[] } {
  const identifiers = new Map<string, Identifier>();
  const accountIds = new Set<string>();
  for (const i of todo) {
    const change = changes[i]!;
    for (const identifier of change.identifiers) {
      if (!isBlocked(rules, identifier)) identifiers.set(identifierKey(identifier), identifier);
    }
    // Its traits, or a membership for its list of members.
    if (change.account) accountIds.add(change.account.id);
  }
  return { identifiers, accountIds: [...accountIds] };
}

export function planIngest(input: {
  changes: readonly IdentityChange[];
  todo: readonly number[];
  loaded: LoadedState;
  rules: IdentityRules;
  clock: PlanClock;
  newProfileId: () => string;
  /** Which changes leave a messageId marker (default all; see IngestOptions.messageMarkers). */
  marked?: (change: IdentityChange) => boolean;
}): IngestPlan {
  const { changes, todo, loaded, rules, clock } = input;
  const marked = input.marked ?? (() => true);

  // 1. Apply in memory, on copies of what was read.
  const graph = emptyGraph();
  const originalOwner = new Map<string, string>();
  for (const stored of loaded.profiles.values()) {
    if (stored.expired) continue;
    const state = structuredClone(stored.state);
    // Written before stable experiment ids: keep the id it was bucketed on (experiment-id.ts).
    if (stored.legacy && !state.pinnedAnchor) {
      const legacy = legacyCanonicalIdentifier(rules, state);
      if (legacy) state.pinnedAnchor = { type: legacy.type, value: legacy.value };
    }
    addProfile(graph, state);
    for (const identifier of stored.state.identifiers)
      originalOwner.set(identifierKey(identifier), stored.state.id);
  }
  for (const stored of loaded.accounts.values()) {
    if (!stored.expired) graph.accounts.set(stored.state.id, structuredClone(stored.state));
  }
  // Deletes are final: every identifier of a deleted person gets a tombstone, and events for those
  // identifiers timestamped before the deletion was received are refused (late or replayed ones
  // must not bring the person back). Events after it start a new profile.
  const tombstones = new Map(loaded.tombstones);
  const tombstonesOf = new Map<number, Identifier[]>();
  for (const i of todo) {
    const change = changes[i]!;
    if (change.kind !== 'delete') continue;
    const deleted = new Map<string, Identifier>();
    for (const identifier of change.identifiers) {
      if (isBlocked(rules, identifier)) continue;
      deleted.set(identifierKey(identifier), identifier);
      const owner = graph.profiles.get(graph.index.get(identifierKey(identifier)) ?? '');
      for (const held of owner?.identifiers ?? []) {
        deleted.set(identifierKey(held), { type: held.type, value: held.value });
      }
    }
    tombstonesOf.set(i, [...deleted.values()]);
    for (const [key, identifier] of deleted) tombstones.set(key, { identifier, deletedAt: clock.receivedAt });
  }
  const ignored = new Map<number, string>();
  const applicable = todo.filter((i) => {
    const change = changes[i]!;
    if (change.kind === 'delete') return true;
    for (const identifier of change.identifiers) {
      const tomb = tombstones.get(identifierKey(identifier));
      if (tomb && change.at < tomb.deletedAt) {
        const when = new Date(tomb.deletedAt).toISOString();
        ignored.set(
          i,
          `${identifier.type} was deleted (delete received ${when}): earlier events are refused`,
        );
        return false;
      }
    }
    return true;
  });

  const effects = emptyEffects();
  const outcomes = new Map<number, ChangeOutcome>();
  // Timestamp order makes limit decisions follow the order things happened, whatever the arrival;
  // attachments after every link of the batch, so a person loaded in the same batch is found.
  const attachLast = (i: number) => (changes[i]!.kind === 'attach' ? 1 : 0);
  const ordered = [...applicable].sort(
    (a, b) =>
      attachLast(a) - attachLast(b) ||
      changes[a]!.at - changes[b]!.at ||
      (changes[a]!.messageId < changes[b]!.messageId ? -1 : 1),
  );
  for (const i of ordered)
    outcomes.set(i, applyChange(rules, graph, effects, changes[i]!, input.newProfileId));

  // 2. Group profiles that share identifiers, merges or deletes: each group commits atomically.
  const groups = new UnionFind();
  for (const [removed, survivor] of effects.removedProfiles)
    if (survivor !== null) groups.union(removed, survivor);
  for (const key of effects.touchedIdentifiers.keys()) {
    const before = originalOwner.get(key);
    const after = graph.index.get(key);
    if (before !== undefined && after !== undefined) groups.union(before, after);
  }
  const members = new Map<string, Set<string>>();
  const addMember = (profileId: string) => {
    const root = groups.find(profileId);
    let set = members.get(root);
    if (!set) {
      set = new Set();
      members.set(root, set);
    }
    set.add(profileId);
    return root;
  };
  for (const id of effects.changedProfiles) addMember(id);
  for (const id of effects.removedProfiles.keys()) addMember(id);

  const markersByRoot = new Map<string, number[]>();
  const standalone: number[] = [];
  for (const i of applicable) {
    const outcome = outcomes.get(i)!;
    if (outcome.status === 'ignored') {
      ignored.set(i, outcome.reason);
      continue;
    }
    if (outcome.profileId === null) {
      standalone.push(i);
      continue;
    }
    const root = addMember(outcome.profileId);
    const list = markersByRoot.get(root) ?? [];
    list.push(i);
    markersByRoot.set(root, list);
  }

  const expectation = (key: string, owner: string | undefined): IdentifierExpectation => {
    const stored = loaded.identifiers.get(key);
    if (stored) return { kind: 'owner', profileId: stored.profileId };
    if (loaded.requested.has(key) || owner === undefined) return { kind: 'absent' };
    return { kind: 'absent-or-owner', profileId: owner };
  };
  /** The change's marker, and for a delete its tombstones, committed with it. */
  const markerOps = (i: number): WriteOp[] => [
    ...(marked(changes[i]!)
      ? [
          {
            kind: 'put-message',
            messageId: changes[i]!.messageId,
            expiresAt: clock.messageExpiresAt,
          } satisfies WriteOp,
        ]
      : []),
    // What was derived from the person (saved bucketing, overrides, queued events) is erased by a
    // durable follow-up, committed with the delete itself (identity/erasure.ts).
    ...((tombstonesOf.get(i)?.length ?? 0) > 0
      ? [
          {
            kind: 'put-erasure',
            messageId: changes[i]!.messageId,
            identifiers: tombstonesOf.get(i)!,
            requestedAt: clock.receivedAt,
            expiresAt: clock.tombstoneExpiresAt,
          } satisfies WriteOp,
        ]
      : []),
    ...(tombstonesOf.get(i) ?? []).map(
      (identifier): WriteOp => ({
        kind: 'put-tombstone',
        identifier,
        deletedAt: clock.receivedAt,
        expiresAt: clock.tombstoneExpiresAt,
      }),
    ),
  ];

  // 3. One unit per group.
  const units: WriteUnit[] = [];
  const unitChanges: number[][] = [];
  for (const [root, profileSet] of members) {
    const ops: WriteOp[] = [];
    const markers = markersByRoot.get(root) ?? [];
    const leavesMarker = markers.some((i) => marked(changes[i]!));
    const written = new Set<string>();
    for (const profileId of profileSet) {
      const stored = loaded.profiles.get(profileId);
      const live = graph.profiles.get(profileId);
      if (live) {
        const needsWrite =
          effects.changedProfiles.has(profileId) ||
          stored === undefined ||
          stored.expired ||
          stored.expiresAt < clock.profileExpiresAt - DAY_SECONDS;
        if (!needsWrite) {
          if (leavesMarker) ops.push({ kind: 'check-profile', profileId, expectedVersion: stored.version });
          continue;
        }
        const version = (stored?.version ?? 0) + 1;
        const snapshot = profileSnapshot(rules, live, version);
        // A change readers cannot see (a trait sent again with the same value, a later timestamp)
        // rewrites the profile's own item only: its identifier items already hold this snapshot.
        // The profile keeps their expiry, so the daily refresh still rewrites them all.
        const sameForReaders =
          stored !== undefined &&
          !stored.expired &&
          !stored.legacy &&
          stored.expiresAt >= clock.profileExpiresAt - DAY_SECONDS &&
          readersSee(profileSnapshot(rules, stored.state, stored.version)) === readersSee(snapshot);
        ops.push({
          kind: 'put-profile',
          state: live,
          version,
          expectedVersion: stored ? stored.version : null,
          expiresAt: sameForReaders ? stored.expiresAt : clock.profileExpiresAt,
        });
        if (sameForReaders) continue;
        for (const identifier of live.identifiers) {
          const key = identifierKey(identifier);
          written.add(key);
          ops.push({
            kind: 'put-identifier',
            identifier: { type: identifier.type, value: identifier.value },
            snapshot,
            expiresAt: clock.profileExpiresAt,
            expected: expectation(key, originalOwner.get(key)),
          });
        }
      } else if (stored && !stored.expired) {
        ops.push({ kind: 'delete-profile', profileId, expectedVersion: stored.version });
        for (const identifier of stored.state.identifiers) {
          const key = identifierKey(identifier);
          if (graph.index.has(key) || written.has(key)) continue;
          const expected = expectation(key, profileId);
          if (expected.kind === 'absent') continue;
          ops.push({
            kind: 'delete-identifier',
            identifier: { type: identifier.type, value: identifier.value },
            expected,
          });
        }
      }
    }
    for (const i of markers) ops.push(...markerOps(i));
    if (ops.length === 0) continue;
    units.push({ tag: units.length, ops });
    unitChanges.push(markers);
  }
  // Union-find above put both owners of a moved identifier in one group, so a key appears in one
  // unit only. Deletes of unknown people still leave their marker.
  for (const i of standalone) {
    const ops = markerOps(i);
    if (ops.length === 0) continue;
    units.push({ tag: units.length, ops });
    unitChanges.push([i]);
  }
  return {
    ignored,
    accountUpdates: effects.accountUpdates,
    accountMembers: memberUpdates(graph, effects),
    units,
    unitChanges,
  };
}

/** What decide reads of a snapshot: all of it but the version it was written at. */
function readersSee(snapshot: ProfileSnapshot): string {
  return JSON.stringify({ ...snapshot, version: 0 });
}

/**
 * The account writes for a batch's trait updates, on top of what was read: LWW per trait, so writing
 * them again after a conflict or a Segment retry changes nothing. Returns the units and, by tag,
 * the account each writes.
 */
export function planAccountWrites(
  stored: ReadonlyMap<string, StoredAccount>,
  updates: GraphEffects['accountUpdates'],
  members: IngestPlan['accountMembers'],
  accountIds: readonly string[],
  expiresAt: number,
): { units: WriteUnit[]; accountByTag: string[] } {
  const units: WriteUnit[] = [];
  const accountByTag: string[] = [];
  for (const accountId of accountIds) {
    const current = stored.get(accountId);
    const live = current && !current.expired;
    const base: AccountState = live ? structuredClone(current.state) : { id: accountId, traits: dict() };
    const traitsChanged = mergeStamped(base.traits, updates.get(accountId) ?? {});
    const membersChanged = mergeMembers(base, members.get(accountId) ?? {});
    if (!traitsChanged && !membersChanged && live) continue;
    units.push({
      tag: units.length,
      ops: [
        {
          kind: 'put-account',
          state: base,
          version: (current?.version ?? 0) + 1,
          expectedVersion: current ? current.version : null,
          expiresAt,
        },
      ],
    });
    accountByTag.push(accountId);
  }
  return { units, accountByTag };
}

class UnionFind {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    let root = x;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root)!;
    // Path compression keeps large merge chains cheap.
    let node = x;
    while (node !== root) {
      const next = this.parent.get(node) ?? root;
      this.parent.set(node, root);
      node = next;
    }
    return root;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }
}
