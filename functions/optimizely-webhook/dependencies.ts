/** What the Optimizely webhook needs, built once per container: its secret and the datafile source. */
import type { Config } from '../config/env';
import { secretsSource } from '../config/secrets';
import { unsignedWebhookPolicy } from '../http/webhook-auth';
import { observabilityFor } from '../observability/setup';
import { datafileSourceFromConfig } from '../optimizely/datafile-source';
import { DynamoDbDatafileStore } from '../storage/datafile-store';
import { createDynamoDbClient, type DependencyClients } from '../storage/dynamodb-client';
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
