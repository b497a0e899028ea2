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
 * - the units themselves (profile, marker and account writes): ingest-writes.ts.
 */

import { legacyCanonicalIdentifier } from './experiment-id';
import {
  addProfile,
  applyChange,
  type ChangeOutcome,
  emptyEffects,
  emptyGraph,
  type GraphEffects,
  type GraphState,
  type IdentityChange,
  memberUpdates,
} from './graph';
import { type Identifier, identifierKey } from './identifiers';
import {
  type Deletes,
  groupOps,
  type LoadedState,
  markerOps,
  type PlanClock,
  type UnitPlan,
} from './ingest-writes';
import { type IdentityRules, isBlocked } from './rules';
import type { Tombstone, WriteOp, WriteUnit } from './store';

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

export interface PlanInput {
  changes: readonly IdentityChange[];
  todo: readonly number[];
  loaded: LoadedState;
  rules: IdentityRules;
  clock: PlanClock;
  newProfileId: () => string;
  /** Which changes leave a messageId marker (default all; see IngestOptions.messageMarkers). */
  marked?: (change: IdentityChange) => boolean;
}

/**
 * The batch's changes applied in memory, then turned into write units, in four steps: load the
 * graph of what was read; tombstone what deletes delete, refusing earlier events of those people;
 * apply the rest in timestamp order; group the profiles that must commit together, and write one
 * unit per group (plus one per change that touched no profile).
 */
export function planIngest(input: PlanInput): IngestPlan {
  const { changes, todo, loaded, rules } = input;
  const { graph, originalOwner } = loadGraph(loaded, rules);
  const deletes = tombstoneDeletes(input, graph);
  const ignored = new Map<number, string>();
  const applicable = todo.filter((i) => {
    const refused = refusedAsDeleted(changes[i]!, deletes.tombstones);
    if (refused) ignored.set(i, refused);
    return refused === undefined;
  });
  const effects = emptyEffects();
  const outcomes = new Map<number, ChangeOutcome>();
  for (const i of timestampOrder(changes, applicable))
    outcomes.set(i, applyChange(rules, graph, effects, changes[i]!, input.newProfileId));

  const groups = groupProfiles(effects, graph, originalOwner);
  const markersByRoot = new Map<string, number[]>();
  const standalone: number[] = [];
  for (const i of applicable) {
    const outcome = outcomes.get(i)!;
    if (outcome.status === 'ignored') ignored.set(i, outcome.reason);
    else if (outcome.profileId === null) standalone.push(i);
    else {
      const root = groups.add(outcome.profileId);
      markersByRoot.set(root, [...(markersByRoot.get(root) ?? []), i]);
    }
  }

  const plan: UnitPlan = {
    ...input,
    marked: input.marked ?? (() => true),
    graph,
    originalOwner,
    effects,
    deletes,
  };
  const units: WriteUnit[] = [];
  const unitChanges: number[][] = [];
  const addUnit = (ops: WriteOp[], markers: number[]) => {
    if (ops.length === 0) return;
    units.push({ tag: units.length, ops });
    unitChanges.push(markers);
  };
  for (const [root, profileIds] of groups.members) {
    const markers = markersByRoot.get(root) ?? [];
    const leavesMarker = markers.some((i) => plan.marked(changes[i]!));
    addUnit(
      [...groupOps(plan, profileIds, leavesMarker), ...markers.flatMap((i) => markerOps(plan, i))],
      markers,
    );
  }
  // Union-find put both owners of a moved identifier in one group, so a key appears in one unit
  // only. Deletes of unknown people still leave their marker.
  for (const i of standalone) addUnit(markerOps(plan, i), [i]);
  return {
    ignored,
    accountUpdates: effects.accountUpdates,
    accountMembers: memberUpdates(graph, effects),
    units,
    unitChanges,
  };
}

/** Step 1: the graph of what was read (live items only, copied), and who owned each identifier. */
function loadGraph(loaded: LoadedState, rules: IdentityRules) {
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
  return { graph, originalOwner };
}

/**
 * Step 2: deletes are final. Every identifier of a deleted person gets a tombstone, and events for
 * those identifiers timestamped before the deletion was received are refused (late or replayed
 * ones must not bring the person back). Events after it start a new profile.
 */
function tombstoneDeletes({ changes, todo, loaded, rules, clock }: PlanInput, graph: GraphState): Deletes {
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
  return { tombstones, tombstonesOf };
}

/** Why a change is refused for naming a deleted identifier before its deletion, if it is. */
function refusedAsDeleted(
  change: IdentityChange,
  tombstones: ReadonlyMap<string, Tombstone>,
): string | undefined {
  if (change.kind === 'delete') return undefined;
  for (const identifier of change.identifiers) {
    const tomb = tombstones.get(identifierKey(identifier));
    if (tomb && change.at < tomb.deletedAt) {
      const when = new Date(tomb.deletedAt).toISOString();
      return `${identifier.type} was deleted (delete received ${when}): earlier events are refused`;
    }
  }
  return undefined;
}

/**
 * Step 3's order: timestamp order makes limit decisions follow the order things happened, whatever
 * the arrival; attachments after every link of the batch, so a person loaded in the same batch is found.
 */
function timestampOrder(changes: readonly IdentityChange[], applicable: readonly number[]): number[] {
  const attachLast = (i: number) => (changes[i]!.kind === 'attach' ? 1 : 0);
  return [...applicable].sort(
    (a, b) =>
      attachLast(a) - attachLast(b) ||
      changes[a]!.at - changes[b]!.at ||
      (changes[a]!.messageId < changes[b]!.messageId ? -1 : 1),
  );
}

/** Step 4: profiles that share identifiers, merges or deletes, grouped: each group commits atomically. */
function groupProfiles(effects: GraphEffects, graph: GraphState, originalOwner: ReadonlyMap<string, string>) {
  const groups = new UnionFind();
  for (const [removed, survivor] of effects.removedProfiles)
    if (survivor !== null) groups.union(removed, survivor);
  for (const key of effects.touchedIdentifiers.keys()) {
    const before = originalOwner.get(key);
    const after = graph.index.get(key);
    if (before !== undefined && after !== undefined) groups.union(before, after);
  }
  const members = new Map<string, Set<string>>();
  /** Puts a profile in its group; returns the group's root. */
  const add = (profileId: string) => {
    const root = groups.find(profileId);
    let set = members.get(root);
    if (!set) {
      set = new Set();
      members.set(root, set);
    }
    set.add(profileId);
    return root;
  };
  for (const id of effects.changedProfiles) add(id);
  for (const id of effects.removedProfiles.keys()) add(id);
  return { members, add };
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
