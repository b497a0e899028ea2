/** What the profiles function (Segment's Profile API read paths) needs, built once per container. */

import { DynamoDbIdentityStore } from '../../src/identity/dynamodb/identity-store';
import type { Config } from '../../src/platform/config/env';
import { secretsSource } from '../../src/platform/config/secrets';
import { createDynamoDbClient, type DependencyClients } from '../../src/platform/dynamodb/client';
import { apiKeyAuth } from '../../src/platform/http/auth';
import { identityRulesFromConfig, observabilityFor, readThroughFromConfig } from '../from-config';
import type { ProfileReadsDependencies } from './handler';

export function profileReadsDependencies(
  config: Config,
  clients: DependencyClients = {},
): ProfileReadsDependencies {
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
