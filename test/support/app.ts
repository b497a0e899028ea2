/**
 * Crosswalk's handlers built the way each Lambda entry builds them (functions/<name>/dependencies.ts),
 * from a configuration a test chooses, on the run's DynamoDB Local. No process.env changes and
 * nothing to reset: a test that wants other settings builds another app. The decide handler's
 * after-response goes to the local server, which drains it after each answer, as `npm start` does;
 * the redelivery function runs when a test asks (`redeliver()`) or, with `redeliveryLoop`, on
 * EVENT_REDELIVERY_INTERVAL_MS as `npm start` runs it.
 */

import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { agentApiDependencies } from '../../functions/agent-api/dependencies';
import { type AgentApiDependencies, createAgentApiHandler } from '../../functions/agent-api/handler';
import { createConsoleHandler } from '../../functions/console/handler';
import { redeliveryDependencies } from '../../functions/event-redelivery/dependencies';
import {
  createRedeliveryHandler,
  createRelayHandler,
  type RedeliveryHandler,
  type RedeliveryRun,
  type RelayHandler,
} from '../../functions/event-redelivery/handler';
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
import { apiGatewayEvent } from '../../scripts/local/api-gateway-event';
import { lambdaContext } from '../../scripts/local/lambda-context';
import { type OutboxStream, startOutboxStream } from '../../scripts/local/outbox-stream';
import { type RedeliveryLoop, startRedeliveryLoop } from '../../scripts/local/redelivery-loop';
import { type LocalServer, matchRoute, startLocalServer } from '../../scripts/local/server';
import { type Config, loadConfig } from '../../src/platform/config/env';
import type { DependencyClients } from '../../src/platform/dynamodb/client';
import type { LambdaHttpHandler } from '../../src/platform/http/http-handler';
import { type FunctionName, routeKey } from '../../src/platform/routes';

/** A validated configuration for tests: the run's DynamoDB Local, quiet logs, no metrics. */
export function testConfig(variables: Record<string, string | undefined>): Config {
  return loadConfig({
    DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    CROSSWALK_METRICS: 'off',
    EXPERIMENT_ID_SECRET: 'test-experiment-id-secret',
    // Never the internet: a test that forgets to name its loopback Optimizely reaches nothing.
    OPTIMIZELY_EVENT_ENDPOINT: 'http://127.0.0.1:9/v1/events',
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: 'http://127.0.0.1:9/datafiles/%s.json',
    OPTIMIZELY_CMAB_PREDICTION_ENDPOINT: 'http://127.0.0.1:9/predict/%s',
    ...variables,
  });
}

/** The functions served over HTTP (redelivery is scheduled and backfill invoked on demand, not routed). */
export type HttpFunctionName = Exclude<FunctionName, 'event-redelivery' | 'segment-backfill'>;
export type Handlers = Record<HttpFunctionName, LambdaHttpHandler>;

export interface BuiltApp {
  handlers: Handlers;
  /** The decide function's dependencies (its after-response, dispatcher, event delivery…). */
  decide: AgentApiDependencies;
  redeliver: RedeliveryHandler;
  /** The redelivery function's stream trigger: sends what requests stored (src/events/relay.ts). */
  relay: RelayHandler;
}

export function buildApp(config: Config, clients: DependencyClients = {}): BuiltApp {
  const decide = agentApiDependencies(config, clients);
  const redelivery = redeliveryDependencies(config, clients);
  return {
    handlers: {
      health: createHealthHandler({ observability: observabilityFor(config) }),
      'segment-webhook': createSegmentWebhookHandler(segmentWebhookDependencies(config, clients)),
      'identity-lookup': createIdentityLookupHandler(identityLookupDependencies(config, clients)),
      'agent-api': createAgentApiHandler(decide),
      console: createConsoleHandler({ observability: observabilityFor(config) }),
      'optimizely-webhook': createOptimizelyWebhookHandler(optimizelyWebhookDependencies(config, clients)),
      'profile-reads': createProfileReadsHandler(profileReadsDependencies(config, clients)),
    },
    decide,
    redeliver: createRedeliveryHandler(redelivery),
    relay: createRelayHandler(redelivery),
  };
}

export function buildHandlers(config: Config, clients: DependencyClients = {}): Handlers {
  return buildApp(config, clients).handlers;
}

export interface TestApp extends BuiltApp {
  config: Config;
  server: LocalServer;
  url: string;
  /** Runs the redelivery function once, now. */
  redeliverNow(): Promise<RedeliveryRun>;
  /** Present when started with `redeliveryLoop`. */
  loop?: RedeliveryLoop;
  /** The relay's trigger on the table's stream; absent with `relay: false`. */
  stream?: OutboxStream;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Run the redelivery function every EVENT_REDELIVERY_INTERVAL_MS, as npm start does. */
  redeliveryLoop?: boolean;
  /** The local server's crash simulation: deferred work is dropped instead of run. */
  dropDeferredWork?: boolean;
  /**
   * Run the relay on the table's stream, as `npm start` does (default true); false: stored events
   * stay in the outbox until `redeliverNow()` or the loop sends them when due.
   */
  relay?: boolean;
  /** The relay's batching window (default 10 ms: tests wait on `server.idle()`, not on the window). */
  relayWindowMs?: number;
  /**
   * Where the relay reads the table's stream: default the configured DynamoDB. A test whose handlers
   * reach DynamoDB through a fault proxy names DynamoDB Local itself, as Lambda reads a stream beside
   * the table, not through the function's network path.
   */
  streamEndpoint?: string;
}

/** The local HTTP server on a free port, serving handlers built from `variables`. */
export async function startTestApp(
  variables: Record<string, string | undefined>,
  clients: DependencyClients = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const config = testConfig(variables);
  const app = buildApp(config, clients);
  const stream =
    options.relay === false
      ? undefined
      : await startOutboxStream({
          endpoint: options.streamEndpoint ?? config.DYNAMODB_ENDPOINT ?? process.env.DYNAMODB_ENDPOINT!,
          tableName: config.TABLE_NAME,
          handler: app.relay,
          windowMs: options.relayWindowMs ?? 10,
          pollMs: 100, // a drain polls every 5 ms; idle polling stays light on the shared DynamoDB Local
        });
  const server = await startLocalServer({
    port: 0,
    handlers: app.handlers,
    afterResponses: { 'agent-api': app.decide.afterResponse },
    ...(options.dropDeferredWork ? { dropDeferredWork: true } : {}),
    ...(stream ? { background: [stream] } : {}),
  });
  const loop = options.redeliveryLoop
    ? startRedeliveryLoop({ handler: app.redeliver, intervalMs: config.EVENT_REDELIVERY_INTERVAL_MS })
    : undefined;
  return {
    ...app,
    config,
    server,
    url: server.url,
    redeliverNow: () => app.redeliver({}, lambdaContext('event-redelivery', 50_000)),
    ...(loop ? { loop } : {}),
    ...(stream ? { stream } : {}),
    close: async () => {
      await loop?.stop();
      await server.close();
      await stream?.stop();
    },
  };
}

/** Calls a handler in process with an API Gateway event built from a plain request. */
export async function callHandler(
  handler: LambdaHttpHandler,
  request: { method: 'GET' | 'POST'; url: string; headers?: Record<string, string>; body?: unknown },
): Promise<APIGatewayProxyStructuredResultV2> {
  const path = request.url.split('?')[0] ?? '/';
  const route = matchRoute(request.method, path);
  const event = apiGatewayEvent(
    {
      method: request.method,
      url: request.url,
      headers: { 'content-type': 'application/json', ...request.headers },
      ...(request.body === undefined
        ? {}
        : { body: typeof request.body === 'string' ? request.body : JSON.stringify(request.body) }),
    },
    route ? routeKey(route.route) : `${request.method} ${path}`,
    route?.pathParameters ?? {},
  );
  return handler(event, lambdaContext(route?.route.function ?? 'test'));
}
