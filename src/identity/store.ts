/**
 * The identity store port: what the ingest use case and the reader need from storage, in domain
 * terms. The DynamoDB adapter (dynamodb/identity-store.ts) is the only implementation and the only
 * place that knows key formats and expressions.
 */

import type { Identifier } from './identifiers';
import type { AccountState, ProfileSnapshot, ProfileState } from './profile';

/** An identifier item as read: which profile it points to, and its denormalised snapshot. */
export interface StoredIdentifier {
  identifier: Identifier;
  profileId: string;
  /** Past its expiresAt: logically gone, but still physically there until DynamoDB's TTL sweeps it. */
  expired: boolean;
  snapshot: ProfileSnapshot;
}

/** What is left of a deleted identifier: when the deletion was received (epoch ms). */
export interface Tombstone {
  identifier: Identifier;
  deletedAt: number;
}

export interface StoredProfile {
  state: ProfileState;
  version: number;
  expiresAt: number;
  expired: boolean;
  /** Written by a version before stable experiment ids (its id is pinned on the next write). */
  legacy: boolean;
}

export interface StoredAccount {
  state: AccountState;
  version: number;
  expired: boolean;
}

/** What the writer expects an identifier item to hold, checked atomically with the write. */
export type IdentifierExpectation =
  | { kind: 'absent' }
  | { kind: 'owner'; profileId: string }
  /** Not read this time: absent, or owned by the profile whose state lists it. */
  | { kind: 'absent-or-owner'; profileId: string };

export type WriteOp =
  | {
      kind: 'put-profile';
      state: ProfileState;
      version: number;
      expectedVersion: number | null;
      expiresAt: number;
    }
  | { kind: 'check-profile'; profileId: string; expectedVersion: number }
  | { kind: 'delete-profile'; profileId: string; expectedVersion: number }
  | {
      kind: 'put-identifier';
      identifier: Identifier;
      snapshot: ProfileSnapshot;
      expiresAt: number;
      expected: IdentifierExpectation;
    }
  | { kind: 'delete-identifier'; identifier: Identifier; expected: IdentifierExpectation }
  | { kind: 'put-message'; messageId: string; expiresAt: number }
  | { kind: 'put-tombstone'; identifier: Identifier; deletedAt: number; expiresAt: number }
  /** A Segment delete's follow-up: what was derived from these identifiers is erased (identity/erasure.ts). */
  | {
      kind: 'put-erasure';
      messageId: string;
      identifiers: Identifier[];
      requestedAt: number;
      expiresAt: number;
    }
  | {
      kind: 'put-account';
      state: AccountState;
      version: number;
      expectedVersion: number | null;
      expiresAt: number;
    };

/** Operations that must commit together (one or more transactions, in order). */
export interface WriteUnit {
  /** Caller's tag, returned for the units that lost a race. */
  tag: number;
  ops: WriteOp[];
}

export interface WriteResult {
  /** Tags of units cancelled by a condition or a concurrent transaction: re-read and recompute. */
  conflicted: number[];
  /** Tags of units not written because an item would exceed DynamoDB's 400 KB item limit. */
  oversized: number[];
}

export interface IdentityStore {
  /** Message ids already processed (marker present and not expired). */
  seenMessages(messageIds: readonly string[]): Promise<Set<string>>;
  /** Identifier items by identifier key (identifiers.identifierKey), expired ones included and flagged. */
  getIdentifiers(
    identifiers: readonly Identifier[],
    options?: { consistent?: boolean },
  ): Promise<Map<string, StoredIdentifier>>;
  /** Live tombstones of these identifiers, by identifier key (read with the identifiers when asked). */
  getTombstones(identifiers: readonly Identifier[]): Promise<Map<string, Tombstone>>;
  /** Identifier items and tombstones together, in one batched read (ingest). */
  getIdentifiersAndTombstones(
    identifiers: readonly Identifier[],
  ): Promise<{ identifiers: Map<string, StoredIdentifier>; tombstones: Map<string, Tombstone> }>;
  /** Profiles and accounts by id, in one batched read. */
  getProfilesAndAccounts(
    profileIds: readonly string[],
    accountIds: readonly string[],
  ): Promise<{ profiles: Map<string, StoredProfile>; accounts: Map<string, StoredAccount> }>;
  getAccount(accountId: string): Promise<StoredAccount | null>;
  /** Writes units transactionally, several per transaction; throws DependencyUnavailableError on throttling. */
  write(units: readonly WriteUnit[]): Promise<WriteResult>;
}
