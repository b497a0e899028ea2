/**
 * The write units of an ingest plan (ingest-plan.ts): a group's profile writes, each conditioned on
 * what was read; a change's marker, and for a delete its erasure job and tombstones; the account
 * writes of a batch. Pure, like the plan.
 */
import { dict } from '../platform/core/dict';
import type { GraphEffects, GraphState, IdentityChange } from './graph';
import { type Identifier, identifierKey } from './identifiers';
import {
  type AccountState,
  mergeMembers,
  mergeStamped,
  type ProfileSnapshot,
  profileSnapshot,
} from './profile';
import type { IdentityRules } from './rules';
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

export interface Deletes {
  /** Live tombstones, the batch's own included, by identifier key. */
  tombstones: Map<string, Tombstone>;
  /** By change: the identifiers its delete tombstones. */
  tombstonesOf: Map<number, Identifier[]>;
}

/** What the unit-writing steps read: the input, and what applying it made. */
export interface UnitPlan {
  changes: readonly IdentityChange[];
  loaded: LoadedState;
  rules: IdentityRules;
  clock: PlanClock;
  marked: (change: IdentityChange) => boolean;
  graph: GraphState;
  originalOwner: ReadonlyMap<string, string>;
  effects: GraphEffects;
  deletes: Deletes;
}

/** The condition an identifier item is written under: its owner as read, or its absence. */
function expectation({ loaded }: UnitPlan, key: string, owner: string | undefined): IdentifierExpectation {
  const stored = loaded.identifiers.get(key);
  if (stored) return { kind: 'owner', profileId: stored.profileId };
  if (loaded.requested.has(key) || owner === undefined) return { kind: 'absent' };
  return { kind: 'absent-or-owner', profileId: owner };
}

/** The change's marker, and for a delete its erasure job and tombstones, committed with it. */
export function markerOps(plan: UnitPlan, i: number): WriteOp[] {
  const { changes, clock } = plan;
  const change = changes[i]!;
  const tombstoned = plan.deletes.tombstonesOf.get(i) ?? [];
  return [
    ...(plan.marked(change)
      ? [
          {
            kind: 'put-message',
            messageId: change.messageId,
            expiresAt: clock.messageExpiresAt,
          } satisfies WriteOp,
        ]
      : []),
    // What was derived from the person (saved bucketing, overrides, queued events) is erased by a
    // durable follow-up, committed with the delete itself (identity/erasure.ts).
    ...(tombstoned.length > 0
      ? [
          {
            kind: 'put-erasure',
            messageId: change.messageId,
            identifiers: tombstoned,
            requestedAt: clock.receivedAt,
            expiresAt: clock.tombstoneExpiresAt,
          } satisfies WriteOp,
        ]
      : []),
    ...tombstoned.map(
      (identifier): WriteOp => ({
        kind: 'put-tombstone',
        identifier,
        deletedAt: clock.receivedAt,
        expiresAt: clock.tombstoneExpiresAt,
      }),
    ),
  ];
}

/** A group's profile writes: puts of changed profiles with their identifier items, deletes of merged-away ones. */
export function groupOps(plan: UnitPlan, profileIds: ReadonlySet<string>, leavesMarker: boolean): WriteOp[] {
  const { loaded, graph, effects, rules, clock } = plan;
  const ops: WriteOp[] = [];
  const written = new Set<string>();
  for (const profileId of profileIds) {
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
          expected: expectation(plan, key, plan.originalOwner.get(key)),
        });
      }
    } else if (stored && !stored.expired) {
      ops.push({ kind: 'delete-profile', profileId, expectedVersion: stored.version });
      for (const identifier of stored.state.identifiers) {
        const key = identifierKey(identifier);
        if (graph.index.has(key) || written.has(key)) continue;
        const expected = expectation(plan, key, profileId);
        if (expected.kind === 'absent') continue;
        ops.push({
          kind: 'delete-identifier',
          identifier: { type: identifier.type, value: identifier.value },
          expected,
        });
      }
    }
  }
  return ops;
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
  members: ReadonlyMap<string, Record<string, number | null>>,
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
