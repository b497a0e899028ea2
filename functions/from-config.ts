/**
 * What the configuration describes, built by the entry points' `dependencies.ts` (and the local
 * scripts, benchmarks and tests that build the same functions): the only place that turns validated
 * configuration into the library's own options, so nothing under src/ reads configuration.
 *
 * The read-through is built by the entry points that resolve people (agent-api, identity-lookup,
 * profile-reads). Off, exactly as before it existed, until SEGMENT_SPACE_ID is set and a token is
 * configured (SEGMENT_PROFILE_API_TOKEN locally, the `profileApi` secret deployed); a secret without
 * a token is asked again as the secrets cache renews.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { RedeliveryPolicy } from '../src/events/redelivery-policy';
import { DynamoDbIdentityStore } from '../src/identity/dynamodb/identity-store';
import { createExperimentIds, type ExperimentIds } from '../src/identity/experiment-id';
import type { Identifier } from '../src/identity/identifiers';
import type { ResolvedProfile } from '../src/identity/model';
import { accountTraitsCache, createIdentityReader } from '../src/identity/reader';
import type { IdentityRules } from '../src/identity/rules';
import { createIdentityRules, type IdentityRuleOptions } from '../src/identity/rules';
import { DatafileSource } from '../src/optimizely/datafile-source';
import type { DatafileStore } from '../src/optimizely/datafile-store';
import type { Config } from '../src/platform/config/env';
import { secretsSource } from '../src/platform/config/secrets';
import type { Observability } from '../src/platform/observability/logger';
import { createObservability } from '../src/platform/observability/logger';
import type { SecretsSource } from '../src/platform/secrets';
import { createProfileApiClient } from '../src/profile-api/client';
import { DynamoDbRateLimiter } from '../src/profile-api/dynamodb/rate-limiter';
import { createProfileReadThrough, type ProfileReadThrough } from '../src/profile-api/read-through';
import type { EventLimits } from '../src/segment/event-rules';

/** The container's logs and metrics as the configuration sets them (LOG_LEVEL, CROSSWALK_METRICS). */
export function observabilityFor(config: Pick<Config, 'LOG_LEVEL' | 'CROSSWALK_METRICS'>): Observability {
  return createObservability({ level: config.LOG_LEVEL, metrics: config.CROSSWALK_METRICS });
}

/** The identity rules the configuration sets (IDENTITY_BLOCKED_VALUES, IDENTITY_LIMITS, IDENTITY_PRIORITY, PERSONAL_IDENTIFIER_TYPES). */
export function identityRulesFromConfig(config: Config): IdentityRules {
  const options: IdentityRuleOptions = { personalTypes: config.PERSONAL_IDENTIFIER_TYPES };
  if (config.IDENTITY_BLOCKED_VALUES && config.IDENTITY_BLOCKED_VALUES.length > 0) {
    options.blocked = config.IDENTITY_BLOCKED_VALUES;
  }
  if (config.IDENTITY_LIMITS) options.limits = config.IDENTITY_LIMITS;
  if (config.IDENTITY_PRIORITY && config.IDENTITY_PRIORITY.length > 0)
    options.priority = config.IDENTITY_PRIORITY;
  return createIdentityRules(options);
}

/** The experiment-id rule a configuration describes, with its digest key from the secrets. */
export function experimentIdsFromConfig(
  config: Pick<Config, 'BUCKET_ON_USER_ID'>,
  rules: IdentityRules,
  secrets: SecretsSource,
): ExperimentIds {
  return createExperimentIds({
    rules,
    bucketOnUserId: config.BUCKET_ON_USER_ID,
    secret: async () => (secrets.fresh() ?? (await secrets.get())).experimentIdSecret,
  });
}

/** The policy the configuration sets (EVENT_RETRY_BASE_MS, EVENT_RETRY_MAX_MS, EVENT_MAX_AGE_HOURS). */
export function redeliveryPolicyFromConfig(config: {
  EVENT_RETRY_BASE_MS: number;
  EVENT_RETRY_MAX_MS: number;
  EVENT_MAX_AGE_HOURS: number;
}): RedeliveryPolicy {
  return {
    retryBaseMs: config.EVENT_RETRY_BASE_MS,
    retryMaxMs: Math.max(config.EVENT_RETRY_BASE_MS, config.EVENT_RETRY_MAX_MS),
    maxAgeMs: config.EVENT_MAX_AGE_HOURS * 3_600_000,
  };
}

/** The datafile source a configuration describes (decide and the Optimizely webhook share it). */
export function datafileSourceFromConfig(
  config: Pick<
    Config,
    | 'OPTIMIZELY_DATAFILE_URL_TEMPLATE'
    | 'DATAFILE_REVALIDATE_SECONDS'
    | 'OPTIMIZELY_DATAFILE'
    | 'OPTIMIZELY_SDK_KEY'
    | 'OPTIMIZELY_SDK_KEYS'
  >,
  store: DatafileStore,
  observability: Observability,
): DatafileSource {
  return new DatafileSource({
    store,
    urlTemplate: config.OPTIMIZELY_DATAFILE_URL_TEMPLATE,
    revalidateMs: config.DATAFILE_REVALIDATE_SECONDS * 1000,
    // Unset: the default SDK key alone when there is one, else any (a local run).
    allowedSdkKeys:
      config.OPTIMIZELY_SDK_KEYS ?? (config.OPTIMIZELY_SDK_KEY ? [config.OPTIMIZELY_SDK_KEY] : ['*']),
    ...(config.OPTIMIZELY_DATAFILE && config.OPTIMIZELY_SDK_KEY
      ? { localFile: { sdkKey: config.OPTIMIZELY_SDK_KEY, path: config.OPTIMIZELY_DATAFILE } }
      : {}),
    observability,
  });
}

/** The limits every Segment event must keep (MAX_EVENT_BYTES and its kin). */
export function eventLimitsFromConfig(config: Config): EventLimits {
  return {
    maxEventBytes: config.MAX_EVENT_BYTES,
    maxIdentifierBytes: config.MAX_IDENTIFIER_BYTES,
    maxTraits: config.MAX_TRAITS_PER_EVENT,
    maxTraitKeyBytes: config.MAX_TRAIT_KEY_BYTES,
    maxTraitValueBytes: config.MAX_TRAIT_VALUE_BYTES,
    maxEventAgeMs: config.MAX_EVENT_AGE_DAYS * 86_400_000,
  };
}

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
