/**
 * The identity items' keys, the only code that builds them:
 *
 *   ID#<type>#<value>  / ID       identifier → profileId + snapshot of the profile (what decide reads)
 *   PROFILE#<id>       / PROFILE  authoritative profile state with per-field timestamps, version,
 *                                 format (2 since stable experiment ids; absent = legacy)
 *   ACCOUNT#<id>       / ACCOUNT  account traits with per-trait timestamps, its first members, version
 *   ID#<type>#<value>  / TOMB     tombstone of a deleted identifier: deletedAt (TTL)
 *   ERASE#             / <when>#<messageId>  a delete's erasure job, written with its tombstones
 *                                 (its format: erasure-jobs.ts)
 *   MSG#<messageId>    / MSG      idempotency marker (TTL)
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  KEY_PREFIX,
  TABLE_PARTITION_KEY as PK,
  TABLE_SORT_KEY as SK,
} from '../../platform/dynamodb/table-schema';
import type { Identifier } from '../identifiers';

export type Item = Record<string, AttributeValue>;
export type Key = { pk: string; sk: string };

export function identifierItemKey(identifier: Identifier): Key {
  // The type is encoded so a custom type containing '#' cannot collide with another type's values.
  return {
    pk: `${KEY_PREFIX.identifier}${encodeURIComponent(identifier.type)}#${identifier.value}`,
    sk: 'ID',
  };
}
export function tombstoneItemKey(identifier: Identifier): Key {
  return { pk: identifierItemKey(identifier).pk, sk: 'TOMB' };
}
export function profileItemKey(profileId: string): Key {
  return { pk: `${KEY_PREFIX.profile}${profileId}`, sk: 'PROFILE' };
}
export function accountItemKey(accountId: string): Key {
  return { pk: `${KEY_PREFIX.account}${accountId}`, sk: 'ACCOUNT' };
}
export function messageItemKey(messageId: string): Key {
  return { pk: `${KEY_PREFIX.message}${messageId}`, sk: 'MSG' };
}

/** A key as DynamoDB takes it. */
export function toKey(key: Key): Item {
  return { [PK]: { S: key.pk }, [SK]: { S: key.sk } };
}
/** The in-memory name of an item key: JSON of the pair, so no key text can pass for another pair. */
export function keyName(key: Key): string {
  return JSON.stringify([key.pk, key.sk]);
}
/** The in-memory name of a read item's key. */
export function itemKeyName(item: Item): string {
  return keyName({ pk: item[PK]?.S ?? '', sk: item[SK]?.S ?? '' });
}
