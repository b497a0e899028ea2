/** What the identities function needs, built once per container from the configuration. */

import { DynamoDbIdentityStore } from '../../src/identity/dynamodb/identity-store';
import { accountTraitsCache, createIdentityReader } from '../../src/identity/reader';
import type { Config } from '../../src/platform/config/env';
import { secretsSource } from '../../src/platform/config/secrets';
import { createDynamoDbClient, type DependencyClients } from '../../src/platform/dynamodb/client';
import { apiKeyAuth } from '../../src/platform/http/auth';
import {
  experimentIdsFromConfig,
  identityRulesFromConfig,
  observabilityFor,
  readThroughFromConfig,
} from '../from-config';
import type { IdentityLookupDependencies } from './handler';

export function identityLookupDependencies(
  config: Config,
  clients: DependencyClients = {},
): IdentityLookupDependencies {
  const client = clients.dynamoDb ?? createDynamoDbClient({ endpoint: config.DYNAMODB_ENDPOINT });
  const secrets = secretsSource(config);
  const rules = identityRulesFromConfig(config);
  const observability = observabilityFor(config);
  return {
    authenticate: apiKeyAuth(secrets, { requireAuth: config.REQUIRE_AUTH }),
    maxIdentifierBytes: config.MAX_IDENTIFIER_BYTES,
    maxBodyBytes: config.MAX_BODY_BYTES,
    experimentIds: experimentIdsFromConfig(config, rules, secrets),
    identities: createIdentityReader({
      store: new DynamoDbIdentityStore({ client, tableName: config.TABLE_NAME }),
      accountCache: accountTraitsCache({
        ttlMs: config.ACCOUNT_CACHE_TTL_MS,
        maxEntries: config.ACCOUNT_CACHE_MAX_ENTRIES,
      }),
    }),
    observability,
    readThrough: readThroughFromConfig(config, { client, rules, observability }),
  };
}
