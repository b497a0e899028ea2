/**
 * The identity table's physical shape, shared by the CDK stack and by the local table creation so
 * the two cannot drift. Item key formats live in the DynamoDB adapters, not here.
 */
import type { AttributeValue, CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/** One item of the table, as the low-level client reads and writes it. */
export type TableItem = Record<string, AttributeValue>;

export const TABLE_PARTITION_KEY = 'pk';
export const TABLE_SORT_KEY = 'sk';
/** Epoch seconds; DynamoDB deletes lazily, so readers must also filter on it. */
export const TABLE_TTL_ATTRIBUTE = 'expiresAt';

/**
 * The table's stream: new images, read by the relay's trigger (new outbox items, src/events/relay.ts).
 * Lambda's reads of it are not charged; records of other items are filtered out before invoking.
 */
export const TABLE_STREAM_VIEW_TYPE = 'NEW_IMAGE';

export function createTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_STREAM_VIEW_TYPE },
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
 * Partition-key prefixes of the item families. IAM gives each function access to the families it
 * uses only (a `dynamodb:LeadingKeys` condition per grant, see src/platform/routes.ts), so they are
 * shared with the stack. The key formats themselves live in the storage adapters.
 */
export const KEY_PREFIX = {
  /** Identifier items and their tombstones: `ID#<type>#<value>`. */
  identifier: 'ID#',
  profile: 'PROFILE#',
  account: 'ACCOUNT#',
  /** messageId markers of processed Segment events. */
  message: 'MSG#',
  datafile: 'DATAFILE#',
  /** Forced variations set through POST /v1/override, per project. */
  override: 'OVERRIDE#',
  /** The user profile service (sticky bucketing), per project and person. */
  userProfile: 'UPS#',
  /** The Optimizely event outbox: `OUTBOX#<shard>` (events/dynamodb/outbox.ts). */
  outbox: 'OUTBOX#',
  /** Erasures a Segment delete asked for, until done (identity/dynamodb/erasure-jobs.ts). */
  erasure: 'ERASE#',
  /** Counters of the limiter shared by every container (profile-api/dynamodb/rate-limiter.ts). */
  rateLimit: 'LIMIT#',
  /** Where a backfill run stands, so it resumes after an interruption (segment/backfill.ts). */
  backfill: 'BACKFILL#',
} as const;

export type ItemFamily = keyof typeof KEY_PREFIX;

/** Partition-key prefix of the Optimizely event outbox (events/dynamodb/outbox.ts). */
export const OUTBOX_KEY_PREFIX = KEY_PREFIX.outbox;

/** The attribute that marks an item for the relay (the stream filter names it). */
export const OUTBOX_RELAY_ATTRIBUTE = 'relay';

/**
 * The stream records the relay is given, as a Lambda event filter pattern (DynamoDB Streams
 * records): new outbox items marked for it. The stack's event source mapping uses it and the local
 * stream poller applies it (scripts/local/outbox-stream.ts), so the two cannot drift.
 */
export const OUTBOX_RELAY_FILTER = {
  eventName: ['INSERT'],
  dynamodb: { NewImage: { [OUTBOX_RELAY_ATTRIBUTE]: { BOOL: [true] } } },
} as const;
