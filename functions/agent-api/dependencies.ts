/**
 * What the decide function needs, built once per container from the configuration. `runtime.runtimeApi`
 * is Lambda's AWS_LAMBDA_RUNTIME_API (the entry reads it): given, the fallback send of events the
 * outbox could not take runs after the answer inside an internal extension; absent (local server,
 * tests, bench), in this process.
 */

import type { AgentState } from '../../src/agent/agent-state';
import { DynamoDbOverrideStore, DynamoDbUserProfileStore } from '../../src/agent/dynamodb/stores';
import { OverrideBook } from '../../src/agent/overrides';
import { ProfileBook, UserProfileBridge } from '../../src/agent/profiles';
import { createEventDelivery } from '../../src/events/delivery';
import { DynamoDbOutboxWriter } from '../../src/events/dynamodb/outbox';
import { createEventSender } from '../../src/events/event-sender';
import { CachedIdentityReader } from '../../src/identity/cache';
import { DynamoDbIdentityStore } from '../../src/identity/dynamodb/identity-store';
import { accountTraitsCache, createIdentityReader } from '../../src/identity/reader';
import { DynamoDbDatafileStore } from '../../src/optimizely/dynamodb/datafile-store';
import { CapturingEventDispatcher } from '../../src/optimizely/event-dispatcher';
import { createProjectRegistry } from '../../src/optimizely/projects';
import { boundedRequestHandler } from '../../src/optimizely/sdk';
import type { Config } from '../../src/platform/config/env';
import { secretsSource } from '../../src/platform/config/secrets';
import { LruCache } from '../../src/platform/core/lru-cache';
import { createDynamoDbClient, type DependencyClients } from '../../src/platform/dynamodb/client';
import { apiKeyAuth } from '../../src/platform/http/auth';
import { outboundFetch } from '../../src/platform/http/outbound';
import { createAfterResponse } from '../../src/platform/lambda/after-response';
import {
  datafileSourceFromConfig,
  experimentIdsFromConfig,
  identityRulesFromConfig,
  observabilityFor,
  readThroughFromConfig,
  redeliveryPolicyFromConfig,
} from '../from-config';
import type { AgentApiDependencies } from './request';

export function agentApiDependencies(
  config: Config,
  clients: DependencyClients = {},
  runtime: { runtimeApi?: string | undefined } = {},
): AgentApiDependencies {
  const observability = observabilityFor(config);
  const client = clients.dynamoDb ?? createDynamoDbClient({ endpoint: config.DYNAMODB_ENDPOINT });
  const reader = createIdentityReader({
    store: new DynamoDbIdentityStore({ client, tableName: config.TABLE_NAME }),
    accountCache: accountTraitsCache({
      ttlMs: config.ACCOUNT_CACHE_TTL_MS,
      maxEntries: config.ACCOUNT_CACHE_MAX_ENTRIES,
    }),
  });
  const datafiles = datafileSourceFromConfig(
    config,
    new DynamoDbDatafileStore({ client, tableName: config.TABLE_NAME }),
    observability,
  );
  const afterResponse = createAfterResponse({
    runtimeApi: runtime.runtimeApi,
    name: 'crosswalk-events',
    logger: observability.logger,
  });
  const events = createEventDelivery({
    sender: createEventSender({
      endpoint: config.OPTIMIZELY_EVENT_ENDPOINT,
      timeoutMs: config.EVENT_DELIVERY_TIMEOUT_MS,
      attempts: 2,
    }),
    outbox: new DynamoDbOutboxWriter({ client, tableName: config.TABLE_NAME }),
    deferral: {
      get available() {
        return afterResponse.mode !== 'unavailable';
      },
      defer: (work) => afterResponse.defer(work),
    },
    policy: redeliveryPolicyFromConfig(config),
    observability,
    // A decide's outbox write holds its answer no longer than one of its reads may (fail-open.ts).
    storeTimeoutMs: config.DECIDE_READ_TIMEOUT_MS,
  });
  const dispatcher = new CapturingEventDispatcher();
  const secrets = secretsSource(config);
  const rules = identityRulesFromConfig(config);
  const tableName = config.TABLE_NAME;
  // Decide, track and activate answer on the request's identifiers when a read fails (fail-open.ts).
  const failOpen = { readTimeoutMs: config.DECIDE_READ_TIMEOUT_MS, observability };
  const agentState: AgentState = {
    overrides: config.ENABLE_OVERRIDES
      ? new OverrideBook(
          new DynamoDbOverrideStore({ client, tableName, ttlDays: config.OVERRIDE_TTL_DAYS }),
          {
            ttlMs: config.OVERRIDE_CACHE_TTL_MS,
          },
        )
      : null,
    profiles:
      config.USER_PROFILE_SERVICE === 'dynamodb'
        ? {
            store: new ProfileBook(
              new DynamoDbUserProfileStore({ client, tableName, ttlDays: config.USER_PROFILE_TTL_DAYS }),
              // As long as a resolved identity: the same bound on what a container serves after an erasure.
              { ttlMs: config.IDENTITY_CACHE_TTL_MS, maxEntries: config.IDENTITY_CACHE_MAX_ENTRIES },
            ),
            bridge: new UserProfileBridge(),
          }
        : null,
    failOpen,
  };
  const identities = new CachedIdentityReader(reader, {
    ttlMs: config.IDENTITY_CACHE_TTL_MS,
    negativeTtlMs: config.IDENTITY_NEGATIVE_CACHE_TTL_MS,
    maxEntries: config.IDENTITY_CACHE_MAX_ENTRIES,
  });
  return {
    authenticate: apiKeyAuth(secrets, { requireAuth: config.REQUIRE_AUTH }),
    decisions: {
      experimentIds: experimentIdsFromConfig(config, rules, secrets),
      identities,
      ...(agentState.profiles
        ? {
            lastExperimentIds: new LruCache<string, string>({
              maxEntries: config.IDENTITY_CACHE_MAX_ENTRIES,
              ttlMs: Number.POSITIVE_INFINITY,
            }),
          }
        : {}),
      readThrough: readThroughFromConfig(config, {
        client,
        rules,
        observability,
        remember: (ids, profile) => identities.remember(ids, profile),
      }),
      projects: createProjectRegistry({
        source: datafiles,
        dispatcher,
        personalAttributes: config.PERSONAL_ATTRIBUTES,
        observability,
        ...(agentState.profiles ? { userProfileService: agentState.profiles.bridge } : {}),
        cmab: {
          predictionEndpointTemplate: config.OPTIMIZELY_CMAB_PREDICTION_ENDPOINT,
          requestHandler: boundedRequestHandler(outboundFetch, config.OPTIMIZELY_CMAB_TIMEOUT_MS),
        },
      }),
      dispatcher,
      events,
      settings: {
        accountBucketedFlags: config.ACCOUNT_BUCKETED_FLAGS,
        accountPrefix: config.ACCOUNT_ATTRIBUTE_PREFIX,
        allowReserved: config.ALLOW_RESERVED_ATTRIBUTES,
        rules,
      },
      agentState,
      observability,
      failOpen,
    },
    limits: {
      maxDecideKeys: config.MAX_DECIDE_KEYS,
      maxIdentifiers: config.MAX_IDENTIFIERS_PER_REQUEST,
      maxIdentifierBytes: config.MAX_IDENTIFIER_BYTES,
      maxBodyBytes: config.MAX_BODY_BYTES,
      maxBatchBodyBytes: config.BATCH_MAX_BODY_BYTES,
      allowReserved: config.ALLOW_RESERVED_ATTRIBUTES,
    },
    batch: {
      maxOperations: config.BATCH_OPERATIONS_LIMIT,
      maxConcurrency: config.BATCH_MAX_CONCURRENCY,
      maxIdentifiers: config.BATCH_MAX_IDENTIFIERS,
      maxDynamoDbRequests: config.BATCH_MAX_DYNAMODB_REQUESTS,
      maxEvents: config.BATCH_MAX_EVENTS,
    },
    defaultSdkKey: config.OPTIMIZELY_SDK_KEY,
    afterResponse,
  };
}
