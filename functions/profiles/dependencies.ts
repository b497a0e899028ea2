/** What the profiles function (Segment's Profile API read paths) needs, built once per container. */
import type { Config } from '../config/env';
import { secretsSource } from '../config/secrets';
import { apiKeyAuth } from '../http/auth';
import { identityRulesFromConfig } from '../identity/rules';
import { observabilityFor } from '../observability/setup';
import { readThroughFromConfig } from '../profile-api/from-config';
import { createDynamoDbClient, type DependencyClients } from '../storage/dynamodb-client';
import { DynamoDbIdentityStore } from '../storage/dynamodb-identity-store';
import type { ProfilesDependencies } from './handler';

export function profilesDependencies(config: Config, clients: DependencyClients = {}): ProfilesDependencies {
  const client = clients.dynamoDb ?? createDynamoDbClient({ endpoint: config.DYNAMODB_ENDPOINT });
  const secrets = secretsSource(config);
  const observability = observabilityFor(config);
  return {
    authenticate: apiKeyAuth(secrets, { requireAuth: config.REQUIRE_AUTH }),
    store: new DynamoDbIdentityStore({ client, tableName: config.TABLE_NAME }),
    readThrough: readThroughFromConfig(config, {
      client,
      rules: identityRulesFromConfig(config),
      observability,
    }),
    spaceId: config.SEGMENT_SPACE_ID,
    maxIdentifierBytes: config.MAX_IDENTIFIER_BYTES,
    observability,
  };
}
