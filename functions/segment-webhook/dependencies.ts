/** What the Segment webhook needs, built once per container from the configuration. */

import { DynamoDbIdentityStore } from '../../src/identity/dynamodb/identity-store';
import type { Config } from '../../src/platform/config/env';
import { secretsSource } from '../../src/platform/config/secrets';
import { createDynamoDbClient, type DependencyClients } from '../../src/platform/dynamodb/client';
import { unsignedWebhookPolicy } from '../../src/platform/http/webhook-auth';
import { eventLimitsFromConfig, identityRulesFromConfig, observabilityFor } from '../from-config';
import type { SegmentWebhookDependencies } from './handler';

export function segmentWebhookDependencies(
  config: Config,
  clients: DependencyClients = {},
): SegmentWebhookDependencies {
  const observability = observabilityFor(config);
  const client = clients.dynamoDb ?? createDynamoDbClient({ endpoint: config.DYNAMODB_ENDPOINT });
  return {
    request: {
      secrets: secretsSource(config),
      unsigned: unsignedWebhookPolicy({
        webhook: 'Segment',
        setting: 'SEGMENT_SHARED_SECRET or SEGMENT_WEBHOOK_TOKEN',
        requireAuth: config.REQUIRE_AUTH,
        logger: observability.logger,
      }),
    },
    maxBatch: config.MAX_WEBHOOK_BATCH,
    ingest: {
      store: new DynamoDbIdentityStore({ client, tableName: config.TABLE_NAME }),
      rules: identityRulesFromConfig(config),
      profileTtlDays: config.PROFILE_TTL_DAYS,
      messageIdTtlHours: config.MESSAGE_ID_TTL_HOURS,
      tombstoneDays: config.DELETE_TOMBSTONE_DAYS,
      limits: eventLimitsFromConfig(config),
    },
    observability,
  };
}
