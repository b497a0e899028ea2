/** What the identities function needs, built once per container from the configuration. */
import type { Config } from '../config/env';
import { secretsSource } from '../config/secrets';
import { apiKeyAuth } from '../http/auth';
import { experimentIdsFromConfig } from '../identity/experiment-id';
import { accountTraitsCache, createIdentityReader } from '../identity/reader';
import { identityRulesFromConfig } from '../identity/rules';
import { observabilityFor } from '../observability/setup';
import { readThroughFromConfig } from '../profile-api/from-config';
import { createDynamoDbClient, type DependencyClients } from '../storage/dynamodb-client';
import { DynamoDbIdentityStore } from '../storage/dynamodb-identity-store';
import type { IdentitiesDependencies } from './handler';

export function identitiesDependencies(
  config: Config,
  clients: DependencyClients = {},
): IdentitiesDependencies {
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
