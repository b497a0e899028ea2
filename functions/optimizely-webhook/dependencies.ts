/** What the Optimizely webhook needs, built once per container: its secret and the datafile source. */

import { DynamoDbDatafileStore } from '../../src/optimizely/dynamodb/datafile-store';
import type { Config } from '../../src/platform/config/env';
import { secretsSource } from '../../src/platform/config/secrets';
import { createDynamoDbClient, type DependencyClients } from '../../src/platform/dynamodb/client';
import { unsignedWebhookPolicy } from '../../src/platform/http/webhook-auth';
import { datafileSourceFromConfig, observabilityFor } from '../from-config';
import type { OptimizelyWebhookDependencies } from './handler';

export function optimizelyWebhookDependencies(
  config: Config,
  clients: DependencyClients = {},
): OptimizelyWebhookDependencies {
  const observability = observabilityFor(config);
  const client = clients.dynamoDb ?? createDynamoDbClient({ endpoint: config.DYNAMODB_ENDPOINT });
  return {
    secrets: secretsSource(config),
    unsigned: unsignedWebhookPolicy({
      webhook: 'Optimizely',
      setting: 'OPTIMIZELY_WEBHOOK_SECRET',
      requireAuth: config.REQUIRE_AUTH,
      logger: observability.logger,
    }),
    datafiles: datafileSourceFromConfig(
      config,
      new DynamoDbDatafileStore({ client, tableName: config.TABLE_NAME }),
      observability,
    ),
    observability,
  };
}
