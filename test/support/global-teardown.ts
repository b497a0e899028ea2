import type { DynamoDbLocal } from '../../scripts/local/dynamodb-local';

export default async function globalTeardown(): Promise<void> {
  const local = (globalThis as { __crosswalkDynamoDb?: DynamoDbLocal }).__crosswalkDynamoDb;
  await local?.stop();
}
