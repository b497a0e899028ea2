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
import { LruCache } from '../platform/core/lru-cache';
import type { AnchoredProfile } from './experiment-id';
import { type Identifier, identifierKey, normalizeIdentifier } from './identifiers';
import type { IdentityReader, ProfileIdentifier, ResolvedAccount, TraitValue } from './model';
import { accountTraitValues, type ProfileSnapshot } from './profile';
import type { IdentityStore } from './store';

/**
 * What a snapshot's experiment id comes from. Snapshots written before stable experiment ids carry
 * the id they were bucketed on (`canonicalId`) instead: it is kept, through the identifier that
 * holds that value, so those people keep their variation.
 */
export function snapshotAnchor(snapshot: ProfileSnapshot): AnchoredProfile {
  const userId = snapshot.userId ?? snapshot.identifiers.find((i) => i.type === 'user_id')?.value ?? null;
  if (snapshot.anchor) {
    return { anchor: snapshot.anchor, anchorRule: snapshot.anchorRule ?? 'earliest-identifier', userId };
  }
  const legacy = snapshot.canonicalId ?? snapshot.profileId;
  const holder =
    snapshot.identifiers.find((i) => i.type === 'user_id' && i.value === legacy) ??
    snapshot.identifiers.find((i) => i.value === legacy);
  return {
    anchor: holder ? { type: holder.type, value: holder.value } : { type: 'profile', value: legacy },
    anchorRule: 'legacy',
    userId,
  };
}

/** A profile as GET /v1/identities shows it: every account with its traits. */
export interface DescribedProfile extends AnchoredProfile {
  profileId: string;
  identifiers: ProfileIdentifier[];
  traits: Record<string, TraitValue>;
  audiences: string[];
  accounts: ResolvedAccount[];
  primaryAccountId: string | null;
}

export interface IdentityDescriber {
  describe(identifier: Identifier): Promise<DescribedProfile | null>;
}

export type AccountTraitsCache = LruCache<string, Record<string, TraitValue>>;

export function accountTraitsCache(options: { ttlMs: number; maxEntries: number; now?: () => number }) {
  return new LruCache<string, Record<string, TraitValue>>(options);
}

export interface IdentityReaderOptions {
  store: IdentityStore;
  accountCache: AccountTraitsCache;
  /** Strongly consistent identifier reads: what was just written is seen (the read-through's read-back). */
  consistentReads?: boolean;
}

export function createIdentityReader(options: IdentityReaderOptions): IdentityReader & IdentityDescriber {
  const { store, accountCache } = options;
  const consistent = options.consistentReads ?? false;

  async function accountTraits(accountId: string): Promise<Record<string, TraitValue>> {
    const cached = accountCache.get(accountId);
    if (cached) return cached;
    const stored = await store.getAccount(accountId);
    const traits = stored && !stored.expired ? accountTraitValues(stored.state) : {};
    accountCache.set(accountId, traits);
    return traits;
  }

  async function find(
    identifiers: readonly Identifier[],
  ): Promise<{ matchedBy: Identifier; snapshot: ProfileSnapshot } | null> {
    const wanted = identifiers.map(normalizeIdentifier).filter((i) => i.value !== '');
    if (wanted.length === 0) return null;
    const found = await store.getIdentifiers(wanted, { consistent });
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
      return {
        profileId: snapshot.profileId,
        ...snapshotAnchor(snapshot),
        matchedBy,
        identifiers: snapshot.identifiers,
        traits: snapshot.traits,
        audiences: snapshot.audiences,
        accountIds: snapshot.accountIds,
        primaryAccount,
      };
    },

    async describe(identifier) {
      const hit = await find([identifier]);
      if (!hit) return null;
      const { snapshot } = hit;
      const { accounts } = await store.getProfilesAndAccounts([], snapshot.accountIds);
      return {
        profileId: snapshot.profileId,
        ...snapshotAnchor(snapshot),
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
