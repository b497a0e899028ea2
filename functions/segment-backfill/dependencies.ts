/**
 * What a backfill needs, built from the same configuration as the functions (TABLE_NAME,
 * DYNAMODB_ENDPOINT, the identity rules and limits): the Lambda entry and `npm run backfill` share it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { DynamoDbIdentityStore } from '../../src/identity/dynamodb/identity-store';
import type { Config } from '../../src/platform/config/env';
import { createDynamoDbClient, type DependencyClients } from '../../src/platform/dynamodb/client';
import type { Observability } from '../../src/platform/observability/logger';
import type { BackfillTarget } from '../../src/segment/backfill';
import { createS3Client } from '../../src/segment/backfill-sources';
import { DynamoDbBackfillCheckpoints } from '../../src/segment/dynamodb/backfill-checkpoints';
import { eventLimitsFromConfig, identityRulesFromConfig, observabilityFor } from '../from-config';

/** The run's target (`runBackfill(deps, run)`), the S3 client for `s3://` sources, logs. */
export interface BackfillDependencies extends BackfillTarget {
  s3: () => S3Client;
  observability: Observability;
}

export function backfillDependencies(config: Config, clients: DependencyClients = {}): BackfillDependencies {
  const client = clients.dynamoDb ?? createDynamoDbClient({ endpoint: config.DYNAMODB_ENDPOINT });
  const rules = identityRulesFromConfig(config);
  let s3: S3Client | undefined;
  return {
    ingest: {
      store: new DynamoDbIdentityStore({ client, tableName: config.TABLE_NAME }),
      rules,
      profileTtlDays: config.PROFILE_TTL_DAYS,
      messageIdTtlHours: config.MESSAGE_ID_TTL_HOURS,
      tombstoneDays: config.DELETE_TOMBSTONE_DAYS,
    },
    limits: eventLimitsFromConfig(config),
    rules,
    checkpoints: new DynamoDbBackfillCheckpoints({ client, tableName: config.TABLE_NAME }),
    s3: () => {
      s3 ??= createS3Client(config.S3_ENDPOINT);
      return s3;
    },
    observability: observabilityFor(config),
  };
}
