/** What the redelivery function needs, built once per container from the configuration. */

import { DynamoDbOverrideStore, DynamoDbUserProfileStore } from '../../src/agent/dynamodb/stores';
import { DynamoDbEventOutbox } from '../../src/events/dynamodb/outbox';
import { createEventSender } from '../../src/events/event-sender';
import { DynamoDbErasureJobs } from '../../src/identity/dynamodb/erasure-jobs';
import type { Config } from '../../src/platform/config/env';
import { secretsSource } from '../../src/platform/config/secrets';
import { createDynamoDbClient, type DependencyClients } from '../../src/platform/dynamodb/client';
import {
  experimentIdsFromConfig,
  identityRulesFromConfig,
  observabilityFor,
  redeliveryPolicyFromConfig,
} from '../from-config';
import type { RedeliveryFunctionDependencies } from './handler';

export function redeliveryDependencies(
  config: Config,
  clients: DependencyClients = {},
): RedeliveryFunctionDependencies {
  const client = clients.dynamoDb ?? createDynamoDbClient({ endpoint: config.DYNAMODB_ENDPOINT });
  const tableName = config.TABLE_NAME;
  const observability = observabilityFor(config);
  const outbox = new DynamoDbEventOutbox({ client, tableName });
  return {
    outbox,
    relay: {
      outbox,
      // Twice at once (a keep-alive socket the server closed); later attempts are redelivery's.
      sender: createEventSender({
        endpoint: config.OPTIMIZELY_EVENT_ENDPOINT,
        timeoutMs: config.EVENT_DELIVERY_TIMEOUT_MS,
        attempts: 2,
      }),
      observability,
    },
    // One try per run: the next attempt is scheduled by the outbox, with backoff.
    sender: createEventSender({
      endpoint: config.OPTIMIZELY_EVENT_ENDPOINT,
      timeoutMs: config.EVENT_DELIVERY_TIMEOUT_MS,
      attempts: 1,
    }),
    policy: redeliveryPolicyFromConfig(config),
    observability,
    // Stores are erased whether or not this deployment uses them now: items written while it did remain.
    erasure: {
      jobs: new DynamoDbErasureJobs({ client, tableName }),
      experimentIds: experimentIdsFromConfig(config, identityRulesFromConfig(config), secretsSource(config)),
      profiles: new DynamoDbUserProfileStore({ client, tableName, ttlDays: config.USER_PROFILE_TTL_DAYS }),
      overrides: new DynamoDbOverrideStore({ client, tableName, ttlDays: config.OVERRIDE_TTL_DAYS }),
      outbox,
      configuredSdkKeys: [
        ...new Set([config.OPTIMIZELY_SDK_KEY, ...(config.OPTIMIZELY_SDK_KEYS ?? [])]),
      ].filter((key): key is string => key !== undefined && key !== '*'),
      observability,
    },
  };
}
