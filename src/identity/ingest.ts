/**
 * The ingest use case: apply a batch of identity changes to the store, exactly once per messageId,
 * in a handful of batched DynamoDB requests. One round:
 *
 * 1. read: markers (dedupe), then every identifier item of the batch, then the profiles and
 *    accounts they point to (batched reads);
 * 2. plan: apply the changes in memory and turn the effects into write units (ingest-plan.ts, pure);
 * 3. write account traits (LWW, so re-applying them on a retry changes nothing), then the units,
 *    several per TransactWriteItems;
 * 4. units that lost a race with a concurrent invocation are recomputed from a fresh read (bounded
 *    rounds with jittered backoff), so no identifier ends on two profiles and no merge half done.
 */
import { randomUUID } from 'node:crypto';
import { DependencyUnavailableError } from '../platform/core/errors';
import { retryRounds } from '../platform/core/retry';
import type { IdentityChange } from './graph';
import { type IngestPlan, planAccountWrites, planIngest, readSet } from './ingest-plan';
import type { IdentityRules } from './rules';
import type { IdentityStore, StoredAccount } from './store';

export interface IngestOptions {
  store: IdentityStore;
  rules: IdentityRules;
  profileTtlDays: number;
  messageIdTtlHours: number;
  /** How long a deleted identifier keeps refusing events from before its deletion. */
  tombstoneDays: number;
  now?: () => number;
  newProfileId?: () => string;
  /** Rounds for units that lost a race with a concurrent invocation. */
  maxAttempts?: number;
  /**
   * Which changes are deduplicated by a messageId marker. `all` (the webhook): every change is
   * applied once per messageId within MESSAGE_ID_TTL_HOURS. `deletes` (a backfill): only deletes,
   * whose replay could delete a person who came back; every other change is applied again when it
   * comes again, which changes nothing (last writer wins, earliest sighting, union of memberships),
   * and a no-op costs no write at all.
   */
  messageMarkers?: 'all' | 'deletes';
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
  /** Rounds needed (1 unless units had to be recomputed after a conflict). */
  attempts: number;
  /** Items written: profiles, identifier items, accounts (a backfill's summary). */
  written: WriteCounts;
}

export interface WriteCounts {
  profiles: number;
  identifiers: number;
  accounts: number;
}

const DAY_SECONDS = 86_400;
const MAX_ATTEMPTS = 6;

export async function ingestChanges(
  changes: readonly IdentityChange[],
  options: IngestOptions,
): Promise<IngestResult> {
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

  const maxAttempts = options.maxAttempts ?? MAX_ATTEMPTS;
  const written: WriteCounts = { profiles: 0, identifiers: 0, accounts: 0 };
  const attempts =
    pending.length === 0
      ? 0
      : await retryRounds(
          async () => {
            pending = await ingestRound(changes, pending, results, options, written);
            return pending.length > 0;
          },
          {
            maxAttempts,
            exhausted: () =>
              new DependencyUnavailableError(
                `Identity writes still conflicted after ${maxAttempts} attempts`,
              ),
          },
        );
  let accepted = 0;
  let duplicates = 0;
  for (const r of results) {
    if (r.status === 'accepted') accepted++;
    else if (r.status === 'duplicate') duplicates++;
  }
  return { results, accepted, duplicates, attempts, written };
}

/** One read-plan-write pass; returns the indexes whose writes conflicted and must be redone. */
async function ingestRound(
  changes: readonly IdentityChange[],
  indexes: readonly number[],
  results: ChangeResult[],
  options: IngestOptions,
  written: WriteCounts,
): Promise<number[]> {
  const { store, rules } = options;
  const receivedAt = (options.now ?? Date.now)();
  const nowSeconds = Math.floor(receivedAt / 1000);
  const clock = {
    receivedAt,
    profileExpiresAt: nowSeconds + options.profileTtlDays * DAY_SECONDS,
    messageExpiresAt: nowSeconds + options.messageIdTtlHours * 3600,
    tombstoneExpiresAt: nowSeconds + options.tombstoneDays * DAY_SECONDS,
  };

  const marked = (change: IdentityChange) => options.messageMarkers !== 'deletes' || change.kind === 'delete';
  const seen = await store.seenMessages(
    indexes.filter((i) => marked(changes[i]!)).map((i) => changes[i]!.messageId),
  );
  const todo = indexes.filter((i) => {
    if (!seen.has(changes[i]!.messageId)) return true;
    results[i] = { status: 'duplicate' };
    return false;
  });
  if (todo.length === 0) return [];

  const wanted = readSet(changes, todo, rules);
  const { identifiers, tombstones } = await store.getIdentifiersAndTombstones([
    ...wanted.identifiers.values(),
  ]);
  const profileIds = new Set<string>();
  for (const stored of identifiers.values()) if (!stored.expired) profileIds.add(stored.profileId);
  const { profiles, accounts } = await store.getProfilesAndAccounts([...profileIds], wanted.accountIds);

  const plan = planIngest({
    changes,
    todo,
    loaded: { requested: wanted.identifiers, identifiers, tombstones, profiles, accounts },
    rules,
    clock,
    newProfileId: options.newProfileId ?? randomUUID,
    marked,
  });
  for (const [i, reason] of plan.ignored) results[i] = { status: 'rejected', reason };

  const tooLarge = await writeAccounts(store, accounts, plan, clock.profileExpiresAt, written);
  // A change whose account could not be written is refused as a whole (its profile part would
  // otherwise be kept and its account part lost); the other changes of its unit are planned again.
  const retry = new Set<number>();
  const units = plan.units.filter((unit) => {
    const members = plan.unitChanges[unit.tag] ?? [];
    const refused = members.filter((i) => tooLarge.has(changes[i]!.account?.id ?? ''));
    if (refused.length === 0) return true;
    for (const i of refused) results[i] = { status: 'rejected', reason: ACCOUNT_TOO_LARGE };
    for (const i of members) if (!refused.includes(i)) retry.add(i);
    return false;
  });

  const { conflicted, oversized } = await store.write(units);
  const failed = new Set([...conflicted, ...oversized]);
  for (const unit of units) {
    if (failed.has(unit.tag)) continue;
    for (const op of unit.ops) {
      if (op.kind === 'put-profile') written.profiles++;
      else if (op.kind === 'put-identifier') written.identifiers++;
    }
  }
  // A profile that would not fit in an item cannot take these changes, now or on a retry.
  for (const tag of oversized) {
    for (const i of plan.unitChanges[tag] ?? [])
      results[i] = { status: 'rejected', reason: PROFILE_TOO_LARGE };
  }
  for (const tag of conflicted) for (const i of plan.unitChanges[tag] ?? []) retry.add(i);
  for (const i of todo) if (results[i] === undefined && !retry.has(i)) results[i] = { status: 'accepted' };
  for (const i of retry) delete results[i];
  return [...retry];
}

const PROFILE_TOO_LARGE =
  "the profile would exceed DynamoDB's 400 KB item limit (too many or too large traits); nothing of this event was written";
const ACCOUNT_TOO_LARGE =
  "the account would exceed DynamoDB's 400 KB item limit (too many or too large traits); nothing of this event was written";

/**
 * Account traits, first in each round: conflicts re-read the account and re-apply (LWW). Returns
 * the accounts that could not be written because they would exceed the item limit.
 */
async function writeAccounts(
  store: IdentityStore,
  initial: ReadonlyMap<string, StoredAccount>,
  plan: Pick<IngestPlan, 'accountUpdates' | 'accountMembers'>,
  expiresAt: number,
  written: WriteCounts,
): Promise<Set<string>> {
  const tooLarge = new Set<string>();
  let stored = initial;
  let todo = [...new Set([...plan.accountUpdates.keys(), ...plan.accountMembers.keys()])];
  if (todo.length === 0) return tooLarge;
  await retryRounds(
    async (attempt) => {
      if (attempt > 1) stored = (await store.getProfilesAndAccounts([], todo)).accounts;
      const { units, accountByTag } = planAccountWrites(
        stored,
        plan.accountUpdates,
        plan.accountMembers,
        todo,
        expiresAt,
      );
      const { conflicted, oversized } = await store.write(units);
      written.accounts += units.length - conflicted.length - oversized.length;
      for (const tag of oversized) tooLarge.add(accountByTag[tag]!);
      todo = conflicted.map((tag) => accountByTag[tag]!);
      return todo.length > 0;
    },
    {
      maxAttempts: MAX_ATTEMPTS,
      exhausted: () =>
        new DependencyUnavailableError(`Account writes still conflicted after ${MAX_ATTEMPTS} attempts`),
    },
  );
  return tooLarge;
}
