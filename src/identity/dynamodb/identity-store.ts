/**
 * The identity store on DynamoDB: reads and writes of the identity items, whose keys are in
 * keys.ts, their encoding in codec.ts and the write transactions in transactions.ts. Every read is
 * a batched BatchGetItem (100 keys, UnprocessedKeys retried; GetItem for one key); every write a
 * conditioned TransactWriteItems carrying several units.
 */
import {
  BatchGetItemCommand,
  type BatchGetItemCommandInput,
  type DynamoDBClient,
  GetItemCommand,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError } from '../../platform/core/errors';
import { pool } from '../../platform/core/pool';
import { backoffDelay, sleep } from '../../platform/core/retry';
import { sendCommand } from '../../platform/dynamodb/client';
import {
  TABLE_PARTITION_KEY as PK,
  TABLE_SORT_KEY as SK,
  TABLE_TTL_ATTRIBUTE as TTL,
} from '../../platform/dynamodb/table-schema';
import { type Identifier, identifierKey } from '../identifiers';
import type {
  IdentityStore,
  StoredAccount,
  StoredIdentifier,
  StoredProfile,
  Tombstone,
  WriteResult,
  WriteUnit,
} from '../store';
import { decodeAccount, decodeIdentifier, decodeProfile, decodeTombstone, isExpired } from './codec';
import {
  accountItemKey,
  type Item,
  identifierItemKey,
  itemKeyName,
  type Key,
  keyName,
  messageItemKey,
  profileItemKey,
  toKey,
  tombstoneItemKey,
} from './keys';
import { packTransactions, transact, transactItem } from './transactions';

const BATCH_GET_LIMIT = 100;
const MAX_UNPROCESSED_RETRIES = 8;
/** Concurrent requests per phase: enough to overlap latency without a throttling storm. */
const CONCURRENCY = 8;
/** A projection to the key and TTL alone (a message marker's existence). */
const KEYS_ONLY = {
  ProjectionExpression: '#pk, #sk, #ttl',
  ExpressionAttributeNames: { '#pk': PK, '#sk': SK, '#ttl': TTL },
};

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

  /** BatchGetItem over any number of keys (GetItem for one): chunks of 100 in parallel, UnprocessedKeys retried. */
  private async batchGet(
    keys: readonly Key[],
    options: { keysOnly?: boolean; consistent?: boolean } = {},
  ): Promise<Map<string, Item>> {
    const unique = new Map<string, Key>();
    for (const key of keys) unique.set(keyName(key), key);
    const all = [...unique.values()];
    const found = new Map<string, Item>();
    const read = { ConsistentRead: options.consistent ?? true, ...(options.keysOnly ? KEYS_ONLY : {}) };
    if (all.length === 1) {
      // One key (a decide for one identifier, a single-event batch): GetItem is the cheaper request.
      const output = await sendCommand(
        this.client,
        new GetItemCommand({ TableName: this.tableName, Key: toKey(all[0] as Key), ...read }),
      );
      if (output.Item) found.set(itemKeyName(output.Item), output.Item);
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
        const request: KeysAndAttributes = { Keys: pending, ...read };
        const input: BatchGetItemCommandInput = { RequestItems: { [this.tableName]: request } };
        const output = await sendCommand(this.client, new BatchGetItemCommand(input));
        for (const item of output.Responses?.[this.tableName] ?? []) found.set(itemKeyName(item), item);
        pending = output.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    });
    return found;
  }

  async seenMessages(messageIds: readonly string[]): Promise<Set<string>> {
    const items = await this.batchGet(messageIds.map(messageItemKey), { keysOnly: true });
    const seen = new Set<string>();
    for (const id of messageIds) {
      const item = items.get(keyName(messageItemKey(id)));
      if (item && !isExpired(item, this.nowSeconds())) seen.add(id);
    }
    return seen;
  }

  async getIdentifiers(
    identifiers: readonly Identifier[],
    options: { consistent?: boolean } = {},
  ): Promise<Map<string, StoredIdentifier>> {
    // Ingest reads strongly consistent (fewer lost races); decide may read eventually consistent.
    const items = await this.batchGet(identifiers.map(identifierItemKey), {
      consistent: options.consistent ?? true,
    });
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
      const item = items.get(keyName(tombstoneItemKey(identifier)));
      if (item && !isExpired(item, this.nowSeconds()))
        out.set(identifierKey(identifier), decodeTombstone(identifier, item));
    }
    return out;
  }

  private toIdentifiers(
    identifiers: readonly Identifier[],
    items: Map<string, Item>,
  ): Map<string, StoredIdentifier> {
    const out = new Map<string, StoredIdentifier>();
    for (const identifier of identifiers) {
      const item = items.get(keyName(identifierItemKey(identifier)));
      if (item) out.set(identifierKey(identifier), decodeIdentifier(identifier, item, this.nowSeconds()));
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
      if (item) profiles.set(id, decodeProfile(id, item, this.nowSeconds()));
    }
    for (const id of accountIds) {
      const item = items.get(keyName(accountItemKey(id)));
      if (item) accounts.set(id, decodeAccount(id, item, this.nowSeconds()));
    }
    return { profiles, accounts };
  }

  async getAccount(accountId: string): Promise<StoredAccount | null> {
    const output = await sendCommand(
      this.client,
      new GetItemCommand({ TableName: this.tableName, Key: toKey(accountItemKey(accountId)) }),
    );
    return output.Item ? decodeAccount(accountId, output.Item, this.nowSeconds()) : null;
  }

  async write(units: readonly WriteUnit[]): Promise<WriteResult> {
    const { sequences, oversized } = packTransactions(units, (op) =>
      transactItem(op, this.tableName, this.nowSeconds()),
    );
    const conflicted: number[] = [];
    await pool(sequences, CONCURRENCY, async (sequence) => {
      for (const tx of sequence) {
        if (!(await transact(this.client, tx.items))) {
          conflicted.push(...tx.tags);
          return;
        }
      }
    });
    return { conflicted: [...new Set(conflicted)], oversized };
  }
}
