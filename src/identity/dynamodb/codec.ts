/**
 * Identity items to and from the store's values, each decoded once, where it is read. States and
 * snapshots are stored as JSON strings: they are read and written whole, never queried by field,
 * and a string keeps arbitrary trait names out of expression syntax.
 */
import { TABLE_TTL_ATTRIBUTE as TTL } from '../../platform/dynamodb/table-schema';
import type { Identifier } from '../identifiers';
import type { AccountState, ProfileSnapshot, ProfileState } from '../profile';
import type { StoredAccount, StoredIdentifier, StoredProfile, Tombstone, WriteOp } from '../store';
import {
  accountItemKey,
  type Item,
  identifierItemKey,
  messageItemKey,
  profileItemKey,
  toKey,
  tombstoneItemKey,
} from './keys';

/** Item format of profiles written with stable experiment ids; older items carry none. */
export const PROFILE_FORMAT = '2';

function num(item: Item, name: string): number {
  return Number(item[name]?.N ?? '0');
}
function str(item: Item, name: string): string {
  return item[name]?.S ?? '';
}

/** Past its TTL (DynamoDB deletes expired items late, so a read can still return them). */
export function isExpired(item: Item, nowSeconds: number): boolean {
  const at = item[TTL]?.N;
  return at !== undefined && Number(at) <= nowSeconds;
}

export function decodeIdentifier(identifier: Identifier, item: Item, nowSeconds: number): StoredIdentifier {
  return {
    identifier,
    profileId: str(item, 'profileId'),
    expired: isExpired(item, nowSeconds),
    snapshot: JSON.parse(str(item, 'snapshot')) as ProfileSnapshot,
  };
}

export function decodeTombstone(identifier: Identifier, item: Item): Tombstone {
  return { identifier, deletedAt: num(item, 'deletedAt') };
}

export function decodeProfile(id: string, item: Item, nowSeconds: number): StoredProfile {
  return {
    state: { id, ...(JSON.parse(str(item, 'state')) as Omit<ProfileState, 'id'>) },
    version: num(item, 'version'),
    expiresAt: num(item, TTL),
    expired: isExpired(item, nowSeconds),
    legacy: item.format?.N !== PROFILE_FORMAT,
  };
}

export function decodeAccount(id: string, item: Item, nowSeconds: number): StoredAccount {
  return {
    state: { id, ...(JSON.parse(str(item, 'state')) as Omit<AccountState, 'id'>) },
    version: num(item, 'version'),
    expired: isExpired(item, nowSeconds),
  };
}

type PutOp = Extract<
  WriteOp,
  { kind: 'put-profile' | 'put-identifier' | 'put-message' | 'put-tombstone' | 'put-account' }
>;

/** The item a put writes (its condition is the transaction's: transactions.ts). */
export function encodeItem(op: PutOp): Item {
  switch (op.kind) {
    case 'put-profile': {
      const { id, ...state } = op.state;
      return {
        ...toKey(profileItemKey(id)),
        version: { N: String(op.version) },
        format: { N: PROFILE_FORMAT },
        [TTL]: { N: String(op.expiresAt) },
        state: { S: JSON.stringify(state) },
      };
    }
    case 'put-identifier':
      return {
        ...toKey(identifierItemKey(op.identifier)),
        profileId: { S: op.snapshot.profileId },
        version: { N: String(op.snapshot.version) },
        [TTL]: { N: String(op.expiresAt) },
        snapshot: { S: JSON.stringify(op.snapshot) },
      };
    case 'put-message':
      return { ...toKey(messageItemKey(op.messageId)), [TTL]: { N: String(op.expiresAt) } };
    case 'put-tombstone':
      return {
        ...toKey(tombstoneItemKey(op.identifier)),
        deletedAt: { N: String(op.deletedAt) },
        [TTL]: { N: String(op.expiresAt) },
      };
    case 'put-account': {
      const { id, ...state } = op.state;
      return {
        ...toKey(accountItemKey(id)),
        version: { N: String(op.version) },
        [TTL]: { N: String(op.expiresAt) },
        state: { S: JSON.stringify(state) },
      };
    }
  }
}
