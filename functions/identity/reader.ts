/**
 * The read side of the identity cache (`IdentityReader`): decide/track and GET /v1/identities.
 *
 * `resolve()` is one read of the identifier items asked for (GetItem for one, BatchGetItem for
 * several): each carries a snapshot of its profile. Account traits are not copied into snapshots
 * (an account of 500 members would fan every trait change out to thousands of items); the primary
 * account's traits come from a small in-container cache (ACCOUNT_CACHE_TTL_MS,
 * ACCOUNT_CACHE_MAX_ENTRIES) or one GetItem on a miss. The common case is therefore one DynamoDB
 * request per resolve; account traits may be up to the TTL stale.
 */
import { env } from '../config/env';
import { normalizeIdentifier } from '../segment/identity-change';
import { dynamoDbClient } from '../storage/dynamodb-client';
import { DynamoDbIdentityStore } from '../storage/dynamodb-identity-store';
import type { IdentityStore } from '../storage/identity-store';
import type { Identifier, IdentityReader, ResolvedAccount, ResolvedProfile, TraitValue } from './model';
import { accountTraitValues, type ProfileSnapshot } from './profile';
import { identifierKey } from './rules';

/** A bounded TTL cache of account traits, oldest entries evicted first. */
export class AccountTraitsCache {
  private readonly entries = new Map<string, { traits: Record<string, TraitValue>; at: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(accountId: string): Record<string, TraitValue> | undefined {
    const entry = this.entries.get(accountId);
    if (!entry) return undefined;
    if (this.now() - entry.at >= this.ttlMs) {
      this.entries.delete(accountId);
      return undefined;
    }
    return entry.traits;
  }

  set(accountId: string, traits: Record<string, TraitValue>): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(accountId);
    this.entries.set(accountId, { traits, at: this.now() });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

/** A profile as GET /v1/identities shows it: every account with its traits. */
export interface DescribedProfile {
  canonicalId: string;
  identifiers: Identifier[];
  traits: Record<string, TraitValue>;
  audiences: string[];
  accounts: ResolvedAccount[];
  primaryAccountId: string | null;
}

export interface IdentityReaderWithDescribe extends IdentityReader {
  describe(identifier: Identifier): Promise<DescribedProfile | null>;
}

export interface IdentityReaderOptions {
  store: IdentityStore;
  accountCache?: AccountTraitsCache;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
}

export function createIdentityReader(options: IdentityReaderOptions): IdentityReaderWithDescribe {
  const { store } = options;
  const cache = options.accountCache ?? new AccountTraitsCache(30_000);

  async function accountTraits(accountId: string): Promise<Record<string, TraitValue>> {
    const cached = cache.get(accountId);
    if (cached) return cached;
    const stored = await store.getAccount(accountId);
    const traits = stored && !stored.expired ? accountTraitValues(stored.state) : {};
    cache.set(accountId, traits);
    return traits;
  }

  async function find(
    identifiers: readonly Identifier[],
  ): Promise<{ matchedBy: Identifier; snapshot: ProfileSnapshot } | null> {
    // The same normalisation as ingest, so `Jane@Example.com` finds `jane@example.com`.
    const wanted = identifiers.map(normalizeIdentifier).filter((i) => i.value !== '');
    if (wanted.length === 0) return null;
    const found = await store.getIdentifiers(wanted, { consistent: false });
    for (const identifier of wanted) {
      const stored = found.get(identifierKey(identifier));
      if (stored && !stored.expired) return { matchedBy: identifier, snapshot: stored.snapshot };
    }
    return null;
  }

  return {
    async resolve(identifiers) {
      const hit = await find(identifiers);
      if (!hit) return null;
      const { snapshot, matchedBy } = hit;
      const primaryAccount: ResolvedAccount | null =
        snapshot.primaryAccountId === null
          ? null
          : { id: snapshot.primaryAccountId, traits: await accountTraits(snapshot.primaryAccountId) };
      const resolved: ResolvedProfile = {
        profileId: snapshot.profileId,
        canonicalId: snapshot.canonicalId,
        matchedBy,
        identifiers: snapshot.identifiers,
        traits: snapshot.traits,
        audiences: snapshot.audiences,
        accountIds: snapshot.accountIds,
        primaryAccount,
      };
      return resolved;
    },

    async describe(identifier) {
      const hit = await find([identifier]);
      if (!hit) return null;
      const { snapshot } = hit;
      const { accounts } = await store.getProfilesAndAccounts([], snapshot.accountIds);
      return {
        canonicalId: snapshot.canonicalId,
        identifiers: snapshot.identifiers,
        traits: snapshot.traits,
        audiences: snapshot.audiences,
        accounts: snapshot.accountIds.map((id) => {
          const stored = accounts.get(id);
          return { id, traits: stored && !stored.expired ? accountTraitValues(stored.state) : {} };
        }),
        primaryAccountId: snapshot.primaryAccountId,
      };
    },
  };
}

let sharedCache: AccountTraitsCache | undefined;
let shared: IdentityReaderWithDescribe | undefined;

/**
 * The container's reader: DynamoDB client and account cache at module scope, built on first use
 * from `TABLE_NAME`, `ACCOUNT_CACHE_TTL_MS` and `ACCOUNT_CACHE_MAX_ENTRIES`.
 */
export function identityReader(): IdentityReaderWithDescribe {
  if (!shared) {
    const config = env();
    sharedCache = new AccountTraitsCache(config.ACCOUNT_CACHE_TTL_MS, config.ACCOUNT_CACHE_MAX_ENTRIES);
    shared = createIdentityReader({
      store: new DynamoDbIdentityStore({ client: dynamoDbClient(), tableName: config.TABLE_NAME }),
      accountCache: sharedCache,
    });
  }
  return shared;
}

/** Tests and the local server: forget cached account traits (and the reader, so config is re-read). */
export function resetIdentityReader(): void {
  sharedCache?.clear();
  sharedCache = undefined;
  shared = undefined;
}
