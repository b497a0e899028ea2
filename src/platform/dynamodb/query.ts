/**
 * Reading one partition of the table, page after page: the registries, a project's overrides and the
 * erasure jobs are each one partition that a reader wants in full; an outbox shard is one that the
 * redelivery function reads up to a due time, a page at a time.
 */
import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { sendCommand } from './client';
import { TABLE_PARTITION_KEY as PK, TABLE_SORT_KEY as SK, type TableItem } from './table-schema';

/** What part of a partition to read, and in what pages; without either, all of it in 1 MB pages. */
export interface PartitionRange {
  /** Only items whose sort key sorts at or before this one. */
  sortKeyAtMost?: string;
  /** At most this many items per Query (its `Limit`), so a reader can act on a page before the next. */
  pageSize?: number;
}

/**
 * The items whose partition key is `partition`, in sort-key order, one Query's page at a time (an
 * empty page is skipped; expired items included: filter on TTL). A fault a retry may fix is a
 * DependencyUnavailableError (client.ts `sendCommand`).
 */
export async function* queryPartitionPages(
  client: DynamoDBClient,
  tableName: string,
  partition: string,
  range: PartitionRange = {},
): AsyncGenerator<TableItem[]> {
  const { sortKeyAtMost, pageSize } = range;
  let start: TableItem | undefined;
  do {
    const page = await sendCommand(
      client,
      new QueryCommand({
        TableName: tableName,
        ...(sortKeyAtMost === undefined
          ? {
              KeyConditionExpression: '#pk = :pk',
              ExpressionAttributeNames: { '#pk': PK },
              ExpressionAttributeValues: { ':pk': { S: partition } },
            }
          : {
              KeyConditionExpression: '#pk = :pk AND #sk <= :upper',
              ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
              ExpressionAttributeValues: { ':pk': { S: partition }, ':upper': { S: sortKeyAtMost } },
            }),
        ...(pageSize === undefined ? {} : { Limit: pageSize }),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    if (page.Items && page.Items.length > 0) yield page.Items;
    start = page.LastEvaluatedKey;
  } while (start);
}

/** Every item whose partition key is `partition` (within `range`), one at a time: see `queryPartitionPages`. */
export async function* queryPartition(
  client: DynamoDBClient,
  tableName: string,
  partition: string,
  range: PartitionRange = {},
): AsyncGenerator<TableItem> {
  for await (const page of queryPartitionPages(client, tableName, partition, range)) yield* page;
}
