/** What the event outbox of a test table holds, read through the adapter (storage/event-outbox.ts). */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { eventUuids } from '../../functions/events/event-batch';
import { DynamoDbEventOutbox, type StoredBatch } from '../../functions/storage/event-outbox';

/** Every stored batch, due or not. */
export async function outboxContents(table: {
  client: DynamoDBClient;
  tableName: string;
}): Promise<StoredBatch[]> {
  const outbox = new DynamoDbEventOutbox({ client: table.client, tableName: table.tableName });
  const all: StoredBatch[] = [];
  for await (const page of outbox.due(Number.MAX_SAFE_INTEGER, 100)) all.push(...page);
  return all;
}

/** The uuids of every event the outbox holds. */
export async function outboxUuids(table: { client: DynamoDBClient; tableName: string }): Promise<string[]> {
  return (await outboxContents(table)).flatMap((stored) => eventUuids(stored.batch));
}
