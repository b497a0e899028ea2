/**
 * A Crosswalk for the docs' examples: the local server with handlers built from npm start's local
 * environment (its keys, secrets, sample datafile and loopback Optimizely), on a DynamoDB the caller
 * names, with the demo story already sent. Used by `npm run docs:examples` and by the docs test.
 */

import { agentApiDependencies } from '../../functions/agent-api/dependencies';
import { createAgentApiHandler } from '../../functions/agent-api/handler';
import { createConsoleHandler } from '../../functions/console/handler';
import { redeliveryDependencies } from '../../functions/event-redelivery/dependencies';
import { createRelayHandler } from '../../functions/event-redelivery/handler';
import { observabilityFor } from '../../functions/from-config';
import { createHealthHandler } from '../../functions/health/handler';
import { identityLookupDependencies } from '../../functions/identity-lookup/dependencies';
import { createIdentityLookupHandler } from '../../functions/identity-lookup/handler';
import { optimizelyWebhookDependencies } from '../../functions/optimizely-webhook/dependencies';
import { createOptimizelyWebhookHandler } from '../../functions/optimizely-webhook/handler';
import { profileReadsDependencies } from '../../functions/profile-reads/dependencies';
import { createProfileReadsHandler } from '../../functions/profile-reads/handler';
import { segmentWebhookDependencies } from '../../functions/segment-webhook/dependencies';
import { createSegmentWebhookHandler } from '../../functions/segment-webhook/handler';
import { loadConfig } from '../../src/platform/config/env';
import { runDemo } from '../demo/run-demo';
import { freePort } from '../local/dynamodb-local';
import { LocalOptimizely } from '../local/local-optimizely';
import {
  checkLocalConfiguration,
  demoProfileApi,
  LOCAL_OPTIMIZELY_PREFIX,
  LOCAL_PROFILE_API_PREFIX,
  localEnvironment,
} from '../local/local-stack';
import { startOutboxStream } from '../local/outbox-stream';
import { type LocalServer, startLocalServer } from '../local/server';

export interface DocsApp {
  url: string;
  optimizely: LocalOptimizely;
  /** Resolves once no request is in progress and the relay has sent what they stored. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startDocsApp(options: {
  dynamoDbEndpoint: string;
  tableName: string;
}): Promise<DocsApp> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const environment = localEnvironment(
    {
      DYNAMODB_ENDPOINT: options.dynamoDbEndpoint,
      TABLE_NAME: options.tableName,
      LOG_LEVEL: 'silent',
      // npm start's 250 ms would do on a quiet machine; the docs must not change on a busy one.
      PROFILE_API_TIMEOUT_MS: '3000',
    },
    `${url}${LOCAL_OPTIMIZELY_PREFIX}`,
    `${url}${LOCAL_PROFILE_API_PREFIX}`,
  );
  const { datafile } = checkLocalConfiguration(environment);
  const config = loadConfig(environment);
  const optimizely = new LocalOptimizely({
    datafiles: new Map(datafile ? [[config.OPTIMIZELY_SDK_KEY!, datafile]] : []),
  });
  const decide = agentApiDependencies(config);
  // The relay on the table's stream sends the events decide and track store, as npm start does.
  const relay = await startOutboxStream({
    endpoint: options.dynamoDbEndpoint,
    tableName: options.tableName,
    handler: createRelayHandler(redeliveryDependencies(config)),
    windowMs: 10,
    pollMs: 20,
  });
  const profileApi = demoProfileApi();
  const server: LocalServer = await startLocalServer({
    port,
    localRoutes: [
      ...optimizely.routes(LOCAL_OPTIMIZELY_PREFIX),
      ...profileApi.routes(LOCAL_PROFILE_API_PREFIX),
    ],
    handlers: {
      health: createHealthHandler({ observability: observabilityFor(config) }),
      'segment-webhook': createSegmentWebhookHandler(segmentWebhookDependencies(config)),
      'identity-lookup': createIdentityLookupHandler(identityLookupDependencies(config)),
      'agent-api': createAgentApiHandler(decide),
      console: createConsoleHandler({ observability: observabilityFor(config) }),
      'optimizely-webhook': createOptimizelyWebhookHandler(optimizelyWebhookDependencies(config)),
      'profile-reads': createProfileReadsHandler(profileReadsDependencies(config)),
    },
    afterResponses: { 'agent-api': decide.afterResponse },
    background: [relay],
  });
  await runDemo({
    url,
    apiKey: environment.API_KEYS,
    segmentSecret: environment.SEGMENT_SHARED_SECRET,
    segmentToken: environment.SEGMENT_WEBHOOK_TOKEN,
  });
  return {
    url,
    optimizely,
    idle: () => server.idle(),
    close: async () => {
      await server.close();
      await relay.stop();
    },
  };
}
