/**
 * The read-through a function's configuration describes, built once per container by the entry
 * points that resolve people (decide, identities, profiles). Off, exactly as before it existed, until
 * SEGMENT_SPACE_ID is set and a token is configured (SEGMENT_PROFILE_API_TOKEN locally, the
 * `profileApi` secret deployed); a secret without a token is asked again as the secrets cache renews.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbIdentityStore } from '../src/identity/dynamodb/identity-store';
import type { Identifier } from '../src/identity/identifiers';
import type { ResolvedProfile } from '../src/identity/model';
import { accountTraitsCache, createIdentityReader } from '../src/identity/reader';
import type { IdentityRules } from '../src/identity/rules';
import type { Config } from '../src/platform/config/env';
import { secretsSource } from '../src/platform/config/secrets';
import type { Observability } from '../src/platform/observability/logger';
import { createProfileApiClient } from '../src/profile-api/client';
import { DynamoDbRateLimiter } from '../src/profile-api/dynamodb/rate-limiter';
import { createProfileReadThrough, type ProfileReadThrough } from '../src/profile-api/read-through';

export function readThroughFromConfig(
  config: Config,
  dependencies: {
    client: DynamoDBClient;
    rules: IdentityRules;
    observability: Observability;
    remember?: (identifiers: readonly Identifier[], profile: ResolvedProfile) => void;
  },
): ProfileReadThrough | undefined {
  if (!config.SEGMENT_SPACE_ID) return undefined;
  if (!config.SEGMENT_PROFILE_API_TOKEN && !config.PROFILE_API_SECRET_ARN) return undefined;
  const { client, rules, observability } = dependencies;
  // The token's own source: read when a lookup needs it, never by the function's other secrets.
  const secrets = secretsSource(config, ['profileApi']);
  const store = new DynamoDbIdentityStore({ client, tableName: config.TABLE_NAME });
  return createProfileReadThrough({
    client: createProfileApiClient({
      baseUrl: config.SEGMENT_PROFILE_API_URL,
      spaceId: config.SEGMENT_SPACE_ID,
      token: async () => (secrets.fresh() ?? (await secrets.get())).segmentProfileApiToken,
    }),
    limiter: new DynamoDbRateLimiter({
      client,
      tableName: config.TABLE_NAME,
      name: 'profile-api',
      maxPerSecond: config.PROFILE_API_MAX_RPS,
    }),
    store,
    ingest: {
      store,
      rules,
      profileTtlDays: config.PROFILE_TTL_DAYS,
      messageIdTtlHours: config.MESSAGE_ID_TTL_HOURS,
      tombstoneDays: config.DELETE_TOMBSTONE_DAYS,
      // What is learned is applied again harmlessly (two containers learning one person write the
      // same thing): no messageId marker, and no marker read.
      messageMarkers: 'deletes',
    },
    reader: createIdentityReader({
      store,
      accountCache: accountTraitsCache({
        ttlMs: config.ACCOUNT_CACHE_TTL_MS,
        maxEntries: config.ACCOUNT_CACHE_MAX_ENTRIES,
      }),
      consistentReads: true,
    }),
    ...(dependencies.remember ? { remember: dependencies.remember } : {}),
    rules,
    limits: {
      maxIdentifierBytes: config.MAX_IDENTIFIER_BYTES,
      maxTraits: config.MAX_TRAITS_PER_EVENT,
      maxTraitKeyBytes: config.MAX_TRAIT_KEY_BYTES,
      maxTraitValueBytes: config.MAX_TRAIT_VALUE_BYTES,
    },
    timeoutMs: config.PROFILE_API_TIMEOUT_MS,
    negativeTtlMs: config.IDENTITY_NEGATIVE_CACHE_TTL_MS,
    observability,
  });
}
