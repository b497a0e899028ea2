/**
 * Reading one partition of the table whole, page after page: the registries, a project's overrides
 * and the erasure jobs are each one partition that a reader wants in full.
 */
import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { sendCommand } from './client';
import { TABLE_PARTITION_KEY as PK, type TableItem } from './table-schema';

/** Every item whose partition key is `partition`, in sort-key order (expired items included: filter on TTL). */
export async function* queryPartition(
  client: DynamoDBClient,
  tableName: string,
  partition: string,
): AsyncGenerator<TableItem> {
  let start: TableItem | undefined;
  do {
    const page = await sendCommand(
      client,
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':pk': { S: partition } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    yield* page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start);
}
