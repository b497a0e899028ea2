/**
 * The identity table's physical shape, shared by the CDK stack and by the local table creation so
 * the two cannot drift. Item key formats live in the DynamoDB adapters, not here.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const TABLE_PARTITION_KEY = 'pk';
export const TABLE_SORT_KEY = 'sk';
/** Epoch seconds; DynamoDB deletes lazily, so readers must also filter on it. */
export const TABLE_TTL_ATTRIBUTE = 'expiresAt';

export function createTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE_PARTITION_KEY, AttributeType: 'S' },
      { AttributeName: TABLE_SORT_KEY, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: TABLE_PARTITION_KEY, KeyType: 'HASH' },
      { AttributeName: TABLE_SORT_KEY, KeyType: 'RANGE' },
    ],
  };
}

/**
 * Partition-key prefix of stored Optimizely datafiles. IAM scopes the decide function's writes to
 * items under it (dynamodb:LeadingKeys), so it is shared with the stack.
 */
export const DATAFILE_KEY_PREFIX = 'DATAFILE#';

/**
 * Partition-key prefix of the Optimizely event outbox (`OUTBOX#<shard>`, storage/event-outbox.ts).
 * IAM scopes the functions that deliver events to items under it (dynamodb:LeadingKeys), so it is
 * shared with the stack.
 */
export const OUTBOX_KEY_PREFIX = 'OUTBOX#';
