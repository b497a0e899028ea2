/**
 * Starts one in-memory DynamoDB Local for the whole test run. Workers inherit its endpoint through
 * the environment; each test file creates its own table (see dynamodb.ts), so tests never share data.
 */
import { startDynamoDbLocal } from '../../scripts/local/dynamodb-local';

export default async function globalSetup(): Promise<void> {
  process.env.CROSSWALK_METRICS = 'off';
  // Quiet unless asked: LOG_LEVEL=info npm test shows the functions' logs.
  process.env.LOG_LEVEL ??= 'silent';
  if (process.env.DYNAMODB_ENDPOINT) return;
  const local = await startDynamoDbLocal();
  process.env.DYNAMODB_ENDPOINT = local.endpoint;
  process.env.AWS_REGION = 'local';
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  (globalThis as { __crosswalkDynamoDb?: typeof local }).__crosswalkDynamoDb = local;
}
