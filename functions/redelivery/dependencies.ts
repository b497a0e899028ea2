/** What the redelivery function needs, built once per container from the configuration. */
import type { Config } from '../config/env';
import { createEventSender } from '../events/event-sender';
import type { RedeliveryDependencies } from '../events/redelivery';
import { redeliveryPolicyFromConfig } from '../events/redelivery-policy';
import { observabilityFor } from '../observability/setup';
import { createDynamoDbClient, type DependencyClients } from '../storage/dynamodb-client';
import { DynamoDbEventOutbox } from '../storage/event-outbox';

export function redeliveryDependencies(
  config: Config,
  clients: DependencyClients = {},
): RedeliveryDependencies {
  const client = clients.dynamoDb ?? createDynamoDbClient({ endpoint: config.DYNAMODB_ENDPOINT });
  return {
    outbox: new DynamoDbEventOutbox({ client, tableName: config.TABLE_NAME }),
    // One try per run: the next attempt is scheduled by the outbox, with backoff.
    sender: createEventSender({
      endpoint: config.OPTIMIZELY_EVENT_ENDPOINT,
      timeoutMs: config.EVENT_DELIVERY_TIMEOUT_MS,
      attempts: 1,
    }),
    policy: redeliveryPolicyFromConfig(config),
    observability: observabilityFor(config),
  };
}
