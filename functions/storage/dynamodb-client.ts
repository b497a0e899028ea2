/**
 * One DynamoDB client per container, built on first use. `DYNAMODB_ENDPOINT` points it at
 * DynamoDB Local (npm start, tests, bench); in Lambda the SDK's default chain applies.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

let client: DynamoDBClient | undefined;

export function dynamoDbClient(): DynamoDBClient {
  client ??= createDynamoDbClient(process.env.DYNAMODB_ENDPOINT);
  return client;
}

export function createDynamoDbClient(endpoint?: string): DynamoDBClient {
  if (!endpoint) return new DynamoDBClient({ maxAttempts: 3 });
  return new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'local',
    // DynamoDB Local accepts any credentials; fixed ones keep every local process on one database.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  });
}
