/**
 * The identity store on DynamoDB, and the only code that knows its item layout:
 *
 *   ID#<type>#<value>  / ID       identifier → profileId + snapshot of the profile (what decide reads)
 *   PROFILE#<id>       / PROFILE  authoritative profile state with per-field timestamps, version,
 *                                 format (2 since stable experiment ids; absent = legacy)
 *   ACCOUNT#<id>       / ACCOUNT  account traits with per-trait timestamps, its first members, version
 *   ID#<type>#<value>  / TOMB     tombstone of a deleted identifier: deletedAt (TTL)
 *   ERASE#             / <when>#<messageId>  a delete's erasure job, written with its tombstones
 *                                 (its format: erasure-jobs.ts)
 *   MSG#<messageId>    / MSG      idempotency marker (TTL)
 *
 * States and snapshots are stored as JSON strings: they are read and written whole, never queried
 * by field, and a string keeps arbitrary trait names out of expression syntax. Every read is a
 * batched BatchGetItem (100 keys, UnprocessedKeys retried); every write a conditioned
 * TransactWriteItems carrying several units.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError } from '../../platform/core/errors';
import { backoffDelay, sleep } from '../../platform/core/retry';
import { sendCommand } from '../../platform/dynamodb/client';
import {
  KEY_PREFIX,
  TABLE_PARTITION_KEY as PK,
  TABLE_SORT_KEY as SK,
  TABLE_TTL_ATTRIBUTE as TTL,
} from '../../platform/dynamodb/table-schema';
import { type Identifier, identifierKey } from '../identifiers';
import type { AccountState, ProfileSnapshot, ProfileState } from '../profile';
import type {
  IdentifierExpectation,
  IdentityStore,
  StoredAccount,
  StoredIdentifier,
  StoredProfile,
  Tombstone,
  WriteOp,
  WriteResult,
  WriteUnit,
} from '../store';
import { erasureJobItem } from './erasure-jobs';

const BATCH_GET_LIMIT = 100;
const TRANSACTION_LIMIT = 100;
/** TransactWriteItems allows 4 MB; keep a margin for attribute overhead the estimate misses. */
const TRANSACTION_BYTES = 3_500_000;
/** DynamoDB's item limit is 400 KB; the estimate (JSON of the item) runs slightly high, never low. */
const MAX_ITEM_BYTES = 400 * 1024;

/** An over-estimate of an item's stored size: the UTF-8 JSON of its action. */
function itemBytes(item: TransactWriteItem): number {
  return Buffer.byteLength(JSON.stringify(item), 'utf8');
}
const MAX_UNPROCESSED_RETRIES = 8;
/** Concurrent requests per phase: enough to overlap latency without a throttling storm. */
const CONCURRENCY = 8;

type Item = Record<string, AttributeValue>;
type Key = { pk: string; sk: string };

const ID_SK = 'ID';
const PROFILE_SK = 'PROFILE';
const ACCOUNT_SK = 'ACCOUNT';
const MSG_SK = 'MSG';
const TOMB_SK = 'TOMB';
/** Item format of profiles written with stable experiment ids; older items carry none. */
export const PROFILE_FORMAT = '2';

export function identifierItemKey(identifier: Identifier): Key {
  // The type is encoded so a custom type containing '#' cannot collide with another type's values.
  return {
    pk: `${KEY_PREFIX.identifier}${encodeURIComponent(identifier.type)}#${identifier.value}`,
    sk: ID_SK,
  };
}
export function tombstoneItemKey(identifier: Identifier): Key {
  return { pk: identifierItemKey(identifier).pk, sk: TOMB_SK };
}
export function profileItemKey(profileId: string): Key {
  return { pk: `${KEY_PREFIX.profile}${profileId}`, sk: PROFILE_SK };
}
export function accountItemKey(accountId: string): Key {
  return { pk: `${KEY_PREFIX.account}${accountId}`, sk: ACCOUNT_SK };
}
export function messageItemKey(messageId: string): Key {
  return { pk: `${KEY_PREFIX.message}${messageId}`, sk: MSG_SK };
}

function toKey(key: Key): Item {
  return { [PK]: { S: key.pk }, [SK]: { S: key.sk } };
}
/** The in-memory name of an item key: JSON of the pair, so no key text can pass for another pair. */
function keyName(key: Key): string {
  return JSON.stringify([key.pk, key.sk]);
}
function keyString(item: Item): string {
  return keyName({ pk: item[PK]?.S ?? '', sk: item[SK]?.S ?? '' });
}
function num(item: Item, name: string): number {
  return Number(item[name]?.N ?? '0');
}
function str(item: Item, name: string): string {
  return item[name]?.S ?? '';
}

async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}

export interface DynamoDbIdentityStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Epoch ms; injectable so tests can move time past a TTL. */
  now?: () => number;
}

export class DynamoDbIdentityStore implements IdentityStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly now: () => number;

  constructor(options: DynamoDbIdentityStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  private expired(item: Item): boolean {
    const at = item[TTL]?.N;
    return at !== undefined && Number(at) <= this.nowSeconds();
  }

  private send<T>(command: { input: unknown }): Promise<T> {
    return sendCommand<T>(this.client, command);
  }

  /** BatchGetItem over any number of keys (GetItem for one): chunks of 100 in parallel, UnprocessedKeys retried. */
  private async batchGet(
    keys: readonly Key[],
    projection?: string,
    consistent = true,
  ): Promise<Map<string, Item>> {
    const unique = new Map<string, Key>();
    for (const key of keys) unique.set(keyName(key), key);
    const all = [...unique.values()];
    const found = new Map<string, Item>();
    if (all.length === 1) {
      // One key (a decide for one identifier, a single-event batch): GetItem is the cheaper request.
      const output = await this.send<{ Item?: Item }>(
        new GetItemCommand({
          TableName: this.tableName,
          Key: toKey(all[0] as Key),
          ConsistentRead: consistent,
          ...(projection
            ? {
                ProjectionExpression: projection,
                ExpressionAttributeNames: { '#pk': PK, '#sk': SK, '#ttl': TTL },
              }
            : {}),
        }),
      );
      if (output.Item) found.set(keyString(output.Item), output.Item);
      return found;
    }
    const chunks: Key[][] = [];
    for (let i = 0; i < all.length; i += BATCH_GET_LIMIT) chunks.push(all.slice(i, i + BATCH_GET_LIMIT));
    await pool(chunks, CONCURRENCY, async (chunk) => {
      let pending: Item[] = chunk.map(toKey);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > MAX_UNPROCESSED_RETRIES)
          throw new DependencyUnavailableError('DynamoDB kept keys unprocessed');
        if (attempt > 0) await sleep(backoffDelay(attempt, { baseMs: 20, maxMs: 1000 }));
        const request: {
          Keys: Item[];
          ConsistentRead: boolean;
          ProjectionExpression?: string;
          ExpressionAttributeNames?: Record<string, string>;
        } = {
          Keys: pending,
          ConsistentRead: consistent,
        };
        if (projection) {
          request.ProjectionExpression = projection;
          request.ExpressionAttributeNames = { '#pk': PK, '#sk': SK, '#ttl': TTL };
        }
        const output = await this.send<{
          Responses?: Record<string, Item[]>;
          UnprocessedKeys?: Record<string, { Keys?: Item[] }>;
        }>(new BatchGetItemCommand({ RequestItems: { [this.tableName]: request } }));
        for (const item of output.Responses?.[this.tableName] ?? []) found.set(keyString(item), item);
        pending = output.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    });
    return found;
  }

  async seenMessages(messageIds: readonly string[]): Promise<Set<string>> {
    const items = await this.batchGet(messageIds.map(messageItemKey), '#pk, #sk, #ttl');
    const seen = new Set<string>();
    for (const id of messageIds) {
      const item = items.get(keyName(messageItemKey(id)));
      if (item && !this.expired(item)) seen.add(id);
    }
    return seen;
  }

  async getIdentifiers(
    identifiers: readonly Identifier[],
    options: { consistent?: boolean } = {},
  ): Promise<Map<string, StoredIdentifier>> {
    // Ingest reads strongly consistent (fewer lost races); decide may read eventually consistent.
    const items = await this.batchGet(
      identifiers.map(identifierItemKey),
      undefined,
      options.consistent ?? true,
    );
    return this.toIdentifiers(identifiers, items);
  }

  async getTombstones(identifiers: readonly Identifier[]): Promise<Map<string, Tombstone>> {
    return this.toTombstones(identifiers, await this.batchGet(identifiers.map(tombstoneItemKey)));
  }

  async getIdentifiersAndTombstones(
    identifiers: readonly Identifier[],
  ): Promise<{ identifiers: Map<string, StoredIdentifier>; tombstones: Map<string, Tombstone> }> {
    const items = await this.batchGet([
      ...identifiers.map(identifierItemKey),
      ...identifiers.map(tombstoneItemKey),
    ]);
    return {
      identifiers: this.toIdentifiers(identifiers, items),
      tombstones: this.toTombstones(identifiers, items),
    };
  }

  private toTombstones(identifiers: readonly Identifier[], items: Map<string, Item>): Map<string, Tombstone> {
    const out = new Map<string, Tombstone>();
    for (const identifier of identifiers) {
      const key = tombstoneItemKey(identifier);
      const item = items.get(keyName(key));
      if (item && !this.expired(item))
        out.set(identifierKey(identifier), { identifier, deletedAt: num(item, 'deletedAt') });
    }
    return out;
  }

  private toIdentifiers(
    identifiers: readonly Identifier[],
    items: Map<string, Item>,
  ): Map<string, StoredIdentifier> {
    const out = new Map<string, StoredIdentifier>();
    for (const identifier of identifiers) {
      const key = identifierItemKey(identifier);
      const item = items.get(keyName(key));
      if (!item) continue;
      out.set(identifierKey(identifier), {
        identifier,
        profileId: str(item, 'profileId'),
        expired: this.expired(item),
        snapshot: JSON.parse(str(item, 'snapshot')) as ProfileSnapshot,
      });
    }
    return out;
  }

  async getProfilesAndAccounts(
    profileIds: readonly string[],
    accountIds: readonly string[],
  ): Promise<{ profiles: Map<string, StoredProfile>; accounts: Map<string, StoredAccount> }> {
    const items = await this.batchGet([...profileIds.map(profileItemKey), ...accountIds.map(accountItemKey)]);
    const profiles = new Map<string, StoredProfile>();
    const accounts = new Map<string, StoredAccount>();
    for (const id of profileIds) {
      const item = items.get(keyName(profileItemKey(id)));
      if (!item) continue;
      profiles.set(id, {
        state: { id, ...(JSON.parse(str(item, 'state')) as Omit<ProfileState, 'id'>) },
        version: num(item, 'version'),
        expiresAt: num(item, TTL),
        expired: this.expired(item),
        legacy: item.format?.N !== PROFILE_FORMAT,
      });
    }
    for (const id of accountIds) {
      const item = items.get(keyName(accountItemKey(id)));
      if (item) accounts.set(id, this.toAccount(id, item));
    }
    return { profiles, accounts };
  }

  private toAccount(id: string, item: Item): StoredAccount {
    return {
      state: { id, ...(JSON.parse(str(item, 'state')) as Omit<AccountState, 'id'>) },
      version: num(item, 'version'),
      expired: this.expired(item),
    };
  }

  async getAccount(accountId: string): Promise<StoredAccount | null> {
    const output = await this.send<{ Item?: Item }>(
      new GetItemCommand({ TableName: this.tableName, Key: toKey(accountItemKey(accountId)) }),
    );
    return output.Item ? this.toAccount(accountId, output.Item) : null;
  }

  async write(units: readonly WriteUnit[]): Promise<WriteResult> {
    // Pack whole units into transactions of ≤ 100 actions and ≤ TRANSACTION_BYTES; a unit larger
    // than one transaction is split into consecutive ones on its own (the first carries the
    // profile write). A unit with an item over DynamoDB's item limit is not sent at all: it could
    // never succeed, and a retry would not change that.
    const transactions: { tags: number[]; items: TransactWriteItem[] }[] = [];
    let current: { tags: number[]; items: TransactWriteItem[] } = { tags: [], items: [] };
    let currentBytes = 0;
    const flush = () => {
      if (current.items.length > 0) transactions.push(current);
      current = { tags: [], items: [] };
      currentBytes = 0;
    };
    const sequences: { tags: number[]; items: TransactWriteItem[] }[][] = [];
    const oversized: number[] = [];
    for (const unit of units) {
      const items = unit.ops.map((op) => this.toTransactItem(op));
      if (items.length === 0) continue;
      const sizes = items.map(itemBytes);
      if (sizes.some((size) => size > MAX_ITEM_BYTES)) {
        oversized.push(unit.tag);
        continue;
      }
      const bytes = sizes.reduce((n, size) => n + size, 0);
      if (items.length > TRANSACTION_LIMIT || bytes > TRANSACTION_BYTES) {
        const sequence: { tags: number[]; items: TransactWriteItem[] }[] = [];
        let part: TransactWriteItem[] = [];
        let partBytes = 0;
        items.forEach((item, i) => {
          if (part.length === TRANSACTION_LIMIT || partBytes + sizes[i]! > TRANSACTION_BYTES) {
            sequence.push({ tags: [unit.tag], items: part });
            part = [];
            partBytes = 0;
          }
          part.push(item);
          partBytes += sizes[i]!;
        });
        sequence.push({ tags: [unit.tag], items: part });
        sequences.push(sequence);
        continue;
      }
      if (
        current.items.length + items.length > TRANSACTION_LIMIT ||
        currentBytes + bytes > TRANSACTION_BYTES
      ) {
        flush();
      }
      current.tags.push(unit.tag);
      current.items.push(...items);
      currentBytes += bytes;
    }
    flush();
    for (const tx of transactions) sequences.push([tx]);

    const conflicted: number[] = [];
    await pool(sequences, CONCURRENCY, async (sequence) => {
      for (const tx of sequence) {
        const ok = await this.transact(tx.items);
        if (!ok) {
          conflicted.push(...tx.tags);
          return;
        }
      }
    });
    return { conflicted: [...new Set(conflicted)], oversized };
  }

  /** One TransactWriteItems; false when cancelled by a condition or a conflicting transaction. */
  private async transact(items: TransactWriteItem[]): Promise<boolean> {
    try {
      await this.send(new TransactWriteItemsCommand({ TransactItems: items }));
      return true;
    } catch (error) {
      if ((error as Error).name !== 'TransactionCanceledException') throw error;
      const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if (reasons.some((r) => r.Code === 'ThrottlingError' || r.Code === 'ProvisionedThroughputExceeded')) {
        throw new DependencyUnavailableError('DynamoDB throttled a transaction', { cause: error });
      }
      return false;
    }
  }

  private toTransactItem(op: WriteOp): TransactWriteItem {
    const TableName = this.tableName;
    const names = { '#pk': PK };
    switch (op.kind) {
      case 'put-profile': {
        const { id, ...state } = op.state;
        return {
          Put: {
            TableName,
            Item: {
              ...toKey(profileItemKey(id)),
              version: { N: String(op.version) },
              format: { N: PROFILE_FORMAT },
              [TTL]: { N: String(op.expiresAt) },
              state: { S: JSON.stringify(state) },
            },
            ...versionCondition(op.expectedVersion),
          },
        };
      }
      case 'check-profile':
        return {
          ConditionCheck: {
            TableName,
            Key: toKey(profileItemKey(op.profileId)),
            ...versionCondition(op.expectedVersion),
          },
        };
      case 'delete-profile':
        return {
          Delete: {
            TableName,
            Key: toKey(profileItemKey(op.profileId)),
            ...versionCondition(op.expectedVersion),
          },
        };
      case 'put-identifier':
        return {
          Put: {
            TableName,
            Item: {
              ...toKey(identifierItemKey(op.identifier)),
              profileId: { S: op.snapshot.profileId },
              version: { N: String(op.snapshot.version) },
              [TTL]: { N: String(op.expiresAt) },
              snapshot: { S: JSON.stringify(op.snapshot) },
            },
            ...ownerCondition(op.expected),
          },
        };
      case 'delete-identifier':
        return {
          Delete: { TableName, Key: toKey(identifierItemKey(op.identifier)), ...ownerCondition(op.expected) },
        };
      case 'put-message':
        return {
          Put: {
            TableName,
            Item: { ...toKey(messageItemKey(op.messageId)), [TTL]: { N: String(op.expiresAt) } },
            // A marker left by an expired message id may be replaced; a live one means "done".
            ConditionExpression: 'attribute_not_exists(#pk) OR #ttl <= :now',
            ExpressionAttributeNames: { ...names, '#ttl': TTL },
            ExpressionAttributeValues: { ':now': { N: String(this.nowSeconds()) } },
          },
        };
      case 'put-tombstone':
        return {
          Put: {
            TableName,
            Item: {
              ...toKey(tombstoneItemKey(op.identifier)),
              deletedAt: { N: String(op.deletedAt) },
              [TTL]: { N: String(op.expiresAt) },
            },
          },
        };
      case 'put-erasure':
        return { Put: { TableName, Item: erasureJobItem(op) } };

      case 'put-account': {
        const { id, ...state } = op.state;
        return {
          Put: {
            TableName,
            Item: {
              ...toKey(accountItemKey(id)),
              version: { N: String(op.version) },
              [TTL]: { N: String(op.expiresAt) },
              state: { S: JSON.stringify(state) },
            },
            ...versionCondition(op.expectedVersion),
          },
        };
      }
    }
  }
}

interface Condition {
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
}

function versionCondition(expectedVersion: number | null): Condition {
  if (expectedVersion === null) {
    return { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PK } };
  }
  return {
    ConditionExpression: '#version = :version',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':version': { N: String(expectedVersion) } },
  };
}

function ownerCondition(expected: IdentifierExpectation): Condition {
  switch (expected.kind) {
    case 'absent':
      return { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PK } };
    case 'owner':
      return {
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'profileId' },
        ExpressionAttributeValues: { ':owner': { S: expected.profileId } },
      };
    case 'absent-or-owner':
      return {
        ConditionExpression: 'attribute_not_exists(#pk) OR #owner = :owner',
        ExpressionAttributeNames: { '#pk': PK, '#owner': 'profileId' },
        ExpressionAttributeValues: { ':owner': { S: expected.profileId } },
      };
  }
}
