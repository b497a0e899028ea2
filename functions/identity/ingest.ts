/**
 * The ingest use case: apply a batch of identity changes to the store, exactly once per messageId,
 * in a handful of batched DynamoDB requests.
 *
 * 1. read: markers (dedupe), then every identifier item of the batch, then the profiles and
 *    accounts they point to — all BatchGetItem;
 * 2. apply the changes in memory with the pure rules (graph.ts), in event-timestamp order;
 * 3. write account traits (LWW, so re-applying them on a retry changes nothing), then one unit per
 *    group of profiles that share identifiers or merges: profile puts/deletes conditioned on the
 *    version read, identifier items conditioned on their owner, and the markers of the events that
 *    caused it — packed several units per TransactWriteItems;
 * 4. units that lost a race are recomputed from a fresh read (bounded attempts), so concurrent
 *    invocations never leave an identifier on two profiles or a merge half done.
 */
import { randomUUID } from 'node:crypto';
import { TransientError } from '../http/errors';
import type {
  IdentifierExpectation,
  IdentityStore,
  StoredAccount,
  StoredIdentifier,
  StoredProfile,
  WriteOp,
  WriteUnit,
} from '../storage/identity-store';
import {
  addProfile,
  applyChange,
  type ChangeOutcome,
  emptyEffects,
  emptyGraph,
  type IdentityChange,
} from './graph';
import type { Identifier } from './model';
import { type AccountState, mergeStamped, profileSnapshot } from './profile';
import { type IdentityRules, identifierKey, isBlocked } from './rules';

export interface IngestOptions {
  store: IdentityStore;
  rules: IdentityRules;
  profileTtlDays: number;
  messageIdTtlHours: number;
  now?: () => number;
  newProfileId?: () => string;
  /** Attempts for units that lost a race with a concurrent invocation. */
  maxAttempts?: number;
}

export type ChangeResult =
  | { status: 'accepted' }
  | { status: 'duplicate' }
  | { status: 'rejected'; reason: string };

export interface IngestResult {
  /** One result per input change, same order. */
  results: ChangeResult[];
  accepted: number;
  duplicates: number;
  /** DynamoDB requests this ingest sent. */
  dynamoDbRequests: number;
  /** Rounds needed (1 unless units had to be recomputed after a conflict). */
  attempts: number;
}

const DAY_SECONDS = 86_400;

export async function ingestChanges(
  changes: readonly IdentityChange[],
  options: IngestOptions,
): Promise<IngestResult> {
  const requestsBefore = options.store.requestCount();
  const results: ChangeResult[] = new Array(changes.length);
  // The same messageId twice in one request: the first one counts, the others are duplicates.
  const firstByMessage = new Map<string, number>();
  let pending: number[] = [];
  changes.forEach((change, i) => {
    if (firstByMessage.has(change.messageId)) results[i] = { status: 'duplicate' };
    else {
      firstByMessage.set(change.messageId, i);
      pending.push(i);
    }
  });

  const maxAttempts = options.maxAttempts ?? 6;
  let attempts = 0;
  while (pending.length > 0) {
    attempts++;
    if (attempts > maxAttempts) {
      throw new TransientError(`Identity writes still conflicted after ${maxAttempts} attempts`);
    }
    if (attempts > 1)
      await new Promise((r) => setTimeout(r, Math.min(500, 15 * 2 ** attempts) * Math.random()));
    pending = await ingestRound(changes, pending, results, options);
  }
  let accepted = 0;
  let duplicates = 0;
  for (const r of results) {
    if (r.status === 'accepted') accepted++;
    else if (r.status === 'duplicate') duplicates++;
  }
  return {
    results,
    accepted,
    duplicates,
    dynamoDbRequests: options.store.requestCount() - requestsBefore,
    attempts,
  };
}

/** One read-apply-write pass; returns the indexes whose writes conflicted and must be redone. */
async function ingestRound(
  changes: readonly IdentityChange[],
  indexes: readonly number[],
  results: ChangeResult[],
  options: IngestOptions,
): Promise<number[]> {
  const { store, rules } = options;
  const nowMs = (options.now ?? Date.now)();
  const nowSeconds = Math.floor(nowMs / 1000);
  const profileExpiresAt = nowSeconds + options.profileTtlDays * DAY_SECONDS;
  const messageExpiresAt = nowSeconds + options.messageIdTtlHours * 3600;
  const newProfileId = options.newProfileId ?? randomUUID;

  // 1. Read.
  const seen = await store.seenMessages(indexes.map((i) => changes[i]!.messageId));
  const todo = indexes.filter((i) => {
    if (!seen.has(changes[i]!.messageId)) return true;
    results[i] = { status: 'duplicate' };
    return false;
  });
  if (todo.length === 0) return [];

  const requested = new Map<string, Identifier>();
  const accountIds = new Set<string>();
  for (const i of todo) {
    const change = changes[i]!;
    for (const identifier of change.identifiers) {
      if (!isBlocked(rules, identifier)) requested.set(identifierKey(identifier), identifier);
    }
    if (change.account && Object.keys(change.account.traits).length > 0) accountIds.add(change.account.id);
  }
  const storedIdentifiers = await store.getIdentifiers([...requested.values()]);
  const profileIds = new Set<string>();
  for (const stored of storedIdentifiers.values()) if (!stored.expired) profileIds.add(stored.profileId);
  const { profiles: storedProfiles, accounts: storedAccounts } = await store.getProfilesAndAccounts(
    [...profileIds],
    [...accountIds],
  );

  // 2. Apply in memory.
  const graph = emptyGraph();
  const originalOwner = new Map<string, string>();
  for (const stored of storedProfiles.values()) {
    if (stored.expired) continue;
    addProfile(graph, structuredClone(stored.state));
    for (const identifier of stored.state.identifiers)
      originalOwner.set(identifierKey(identifier), stored.state.id);
  }
  for (const stored of storedAccounts.values()) {
    if (!stored.expired) graph.accounts.set(stored.state.id, structuredClone(stored.state));
  }
  const effects = emptyEffects();
  const outcomes = new Map<number, ChangeOutcome>();
  // Timestamp order makes limit decisions follow the order things happened, whatever the arrival.
  const ordered = [...todo].sort(
    (a, b) => changes[a]!.at - changes[b]!.at || (changes[a]!.messageId < changes[b]!.messageId ? -1 : 1),
  );
  for (const i of ordered) outcomes.set(i, applyChange(rules, graph, effects, changes[i]!, newProfileId));

  // 3a. Account traits first: LWW makes writing them again on a retry a no-op.
  await writeAccounts(store, storedAccounts, effects.accountUpdates, profileExpiresAt);

  // 3b. Group profiles that share identifiers, merges or deletes: each group commits atomically.
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
  for (const i of todo) {
    const outcome = outcomes.get(i)!;
    if (outcome.status === 'ignored') {
      results[i] = { status: 'rejected', reason: outcome.reason };
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
    const stored: StoredIdentifier | undefined = storedIdentifiers.get(key);
    if (stored) return { kind: 'owner', profileId: stored.profileId };
    if (requested.has(key) || owner === undefined) return { kind: 'absent' };
    return { kind: 'absent-or-owner', profileId: owner };
  };

  const units: WriteUnit[] = [];
  const unitChanges: number[][] = [];
  for (const [root, profileSet] of members) {
    const ops: WriteOp[] = [];
    const markers = markersByRoot.get(root) ?? [];
    const written = new Set<string>();
    for (const profileId of profileSet) {
      const stored: StoredProfile | undefined = storedProfiles.get(profileId);
      const live = graph.profiles.get(profileId);
      if (live) {
        const needsWrite =
          effects.changedProfiles.has(profileId) ||
          stored === undefined ||
          stored.expired ||
          stored.expiresAt < profileExpiresAt - DAY_SECONDS;
        if (!needsWrite) {
          if (markers.length > 0)
            ops.push({ kind: 'check-profile', profileId, expectedVersion: stored!.version });
          continue;
        }
        const version = (stored?.version ?? 0) + 1;
        ops.push({
          kind: 'put-profile',
          state: live,
          version,
          expectedVersion: stored ? stored.version : null,
          expiresAt: profileExpiresAt,
        });
        const snapshot = profileSnapshot(rules, live, version);
        for (const identifier of live.identifiers) {
          const key = identifierKey(identifier);
          written.add(key);
          ops.push({
            kind: 'put-identifier',
            identifier: { type: identifier.type, value: identifier.value },
            snapshot,
            expiresAt: profileExpiresAt,
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
    for (const i of markers)
      ops.push({ kind: 'put-message', messageId: changes[i]!.messageId, expiresAt: messageExpiresAt });
    if (ops.length === 0) continue;
    units.push({ tag: units.length, ops });
    unitChanges.push(markers);
  }
  // An identifier deleted in a group must not also be put by a later group in the same batch:
  // union-find above put both owners in one group, so a key appears in one unit only.
  for (const i of standalone) {
    units.push({
      tag: units.length,
      ops: [{ kind: 'put-message', messageId: changes[i]!.messageId, expiresAt: messageExpiresAt }],
    });
    unitChanges.push([i]);
  }

  const { conflicted } = await store.write(units);
  const retry = new Set<number>();
  for (const tag of conflicted) for (const i of unitChanges[tag] ?? []) retry.add(i);
  for (const i of todo) if (results[i] === undefined && !retry.has(i)) results[i] = { status: 'accepted' };
  for (const i of retry) delete results[i];
  return [...retry];
}

async function writeAccounts(
  store: IdentityStore,
  initial: Map<string, StoredAccount>,
  updates: GraphUpdates,
  expiresAt: number,
): Promise<void> {
  let stored = initial;
  let todo = [...updates.keys()];
  for (let attempt = 1; todo.length > 0; attempt++) {
    if (attempt > 6) throw new TransientError('Account writes still conflicted after 6 attempts');
    if (attempt > 1) {
      await new Promise((r) => setTimeout(r, Math.min(500, 15 * 2 ** attempt) * Math.random()));
      stored = (await store.getProfilesAndAccounts([], todo)).accounts;
    }
    const units: WriteUnit[] = [];
    const tagToAccount: string[] = [];
    for (const accountId of todo) {
      const current = stored.get(accountId);
      const base: AccountState =
        current && !current.expired ? structuredClone(current.state) : { id: accountId, traits: {} };
      const changed = mergeStamped(base.traits, updates.get(accountId)!);
      if (!changed && current && !current.expired) continue;
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
      tagToAccount.push(accountId);
    }
    const { conflicted } = await store.write(units);
    todo = conflicted.map((tag) => tagToAccount[tag]!);
  }
}

type GraphUpdates = ReturnType<typeof emptyEffects>['accountUpdates'];

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
