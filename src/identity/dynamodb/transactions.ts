/**
 * Identity writes as DynamoDB transactions: each write op as a conditioned transaction item, whole
 * units packed into TransactWriteItems (≤ 100 actions, ≤ TRANSACTION_BYTES), and one transaction
 * sent, a cancellation by a condition or a conflicting transaction answered as `false`.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError } from '../../platform/core/errors';
import { sendCommand } from '../../platform/dynamodb/client';
import { TABLE_PARTITION_KEY as PK, TABLE_TTL_ATTRIBUTE as TTL } from '../../platform/dynamodb/table-schema';
import type { IdentifierExpectation, WriteOp, WriteUnit } from '../store';
import { encodeItem } from './codec';
import { erasureJobItem } from './erasure-jobs';
import { identifierItemKey, profileItemKey, toKey } from './keys';

const TRANSACTION_LIMIT = 100;
/** TransactWriteItems allows 4 MB; keep a margin for attribute overhead the estimate misses. */
const TRANSACTION_BYTES = 3_500_000;
/** DynamoDB's item limit is 400 KB; the estimate (JSON of the item) runs slightly high, never low. */
const MAX_ITEM_BYTES = 400 * 1024;

/** An over-estimate of an item's stored size: the UTF-8 JSON of its action. */
function itemBytes(item: TransactWriteItem): number {
  return Buffer.byteLength(JSON.stringify(item), 'utf8');
}

/** Transaction items with the tags of the units they carry. */
export interface Transaction {
  tags: number[];
  items: TransactWriteItem[];
}

/**
 * Whole units packed into transactions of ≤ 100 actions and ≤ TRANSACTION_BYTES; a unit larger
 * than one transaction is split into consecutive ones on its own (the first carries the profile
 * write). A unit with an item over DynamoDB's item limit is not sent at all: it could never
 * succeed, and a retry would not change that. Each sequence is sent in order, sequences in parallel.
 */
export function packTransactions(
  units: readonly WriteUnit[],
  toItem: (op: WriteOp) => TransactWriteItem,
): { sequences: Transaction[][]; oversized: number[] } {
  const transactions: Transaction[] = [];
  let current: Transaction = { tags: [], items: [] };
  let currentBytes = 0;
  const flush = () => {
    if (current.items.length > 0) transactions.push(current);
    current = { tags: [], items: [] };
    currentBytes = 0;
  };
  const sequences: Transaction[][] = [];
  const oversized: number[] = [];
  for (const unit of units) {
    const items = unit.ops.map(toItem);
    if (items.length === 0) continue;
    const sizes = items.map(itemBytes);
    if (sizes.some((size) => size > MAX_ITEM_BYTES)) {
      oversized.push(unit.tag);
      continue;
    }
    const bytes = sizes.reduce((n, size) => n + size, 0);
    if (items.length > TRANSACTION_LIMIT || bytes > TRANSACTION_BYTES) {
      sequences.push(splitUnit(unit.tag, items, sizes));
      continue;
    }
    if (current.items.length + items.length > TRANSACTION_LIMIT || currentBytes + bytes > TRANSACTION_BYTES) {
      flush();
    }
    current.tags.push(unit.tag);
    current.items.push(...items);
    currentBytes += bytes;
  }
  flush();
  for (const tx of transactions) sequences.push([tx]);
  return { sequences, oversized };
}

/** One unit too large for a transaction, as consecutive transactions. */
function splitUnit(tag: number, items: TransactWriteItem[], sizes: number[]): Transaction[] {
  const sequence: Transaction[] = [];
  let part: TransactWriteItem[] = [];
  let partBytes = 0;
  items.forEach((item, i) => {
    const size = sizes[i] as number;
    if (part.length === TRANSACTION_LIMIT || partBytes + size > TRANSACTION_BYTES) {
      sequence.push({ tags: [tag], items: part });
      part = [];
      partBytes = 0;
    }
    part.push(item);
    partBytes += size;
  });
  sequence.push({ tags: [tag], items: part });
  return sequence;
}

/** One TransactWriteItems; false when cancelled by a condition or a conflicting transaction. */
export async function transact(client: DynamoDBClient, items: TransactWriteItem[]): Promise<boolean> {
  try {
    await sendCommand(client, new TransactWriteItemsCommand({ TransactItems: items }));
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

/** A write op as a transaction item, with the condition that keeps concurrent writers apart. */
export function transactItem(op: WriteOp, TableName: string, nowSeconds: number): TransactWriteItem {
  switch (op.kind) {
    case 'put-profile':
    case 'put-account':
      return { Put: { TableName, Item: encodeItem(op), ...versionCondition(op.expectedVersion) } };
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
      return { Put: { TableName, Item: encodeItem(op), ...ownerCondition(op.expected) } };
    case 'delete-identifier':
      return {
        Delete: { TableName, Key: toKey(identifierItemKey(op.identifier)), ...ownerCondition(op.expected) },
      };
    case 'put-message':
      return {
        Put: {
          TableName,
          Item: encodeItem(op),
          // A marker left by an expired message id may be replaced; a live one means "done".
          ConditionExpression: 'attribute_not_exists(#pk) OR #ttl <= :now',
          ExpressionAttributeNames: { '#pk': PK, '#ttl': TTL },
          ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
        },
      };
    case 'put-tombstone':
      return { Put: { TableName, Item: encodeItem(op) } };
    case 'put-erasure':
      return { Put: { TableName, Item: erasureJobItem(op) } };
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
