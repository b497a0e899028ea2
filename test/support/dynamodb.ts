/** Per-test-file tables on the run's DynamoDB Local, so integration tests stay isolated. */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../../scripts/local/dynamodb-local';
import { createDynamoDbClient } from '../../src/platform/dynamodb/client';

export interface TestTable {
  tableName: string;
  client: DynamoDBClient;
  drop(): Promise<void>;
}

export async function createTestTable(
  prefix = 'test',
  options: { stream?: boolean } = {},
): Promise<TestTable> {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  if (!endpoint)
    throw new Error(
      'DYNAMODB_ENDPOINT is not set: run tests through jest (global setup starts DynamoDB Local)',
    );
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  const client = createDynamoDbClient({ endpoint });
  await ensureTable(client, tableName, options);
  return {
    tableName,
    client,
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
      client.destroy();
    },
  };
}
