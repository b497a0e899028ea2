/**
 * `npm start`: serves every route of src/platform/routes.ts on 127.0.0.1:$PORT (default 3000) through
 * the real Lambda entry modules, against an embedded DynamoDB Local (data kept in .local/ between
 * runs; `--in-memory` keeps nothing). DYNAMODB_ENDPOINT set → that DynamoDB is used. Decide answers
 * first and sends its events after, as in Lambda, and the redelivery function runs every
 * EVENT_REDELIVERY_INTERVAL_MS on the event outbox, as its schedule would.
 *
 * Order matters: everything that can be checked is checked first (configuration, datafile, ports),
 * and a problem prints one line and exits 1 before DynamoDB Local starts; anything that fails after
 * it started stops it again.
 */

import type { RedeliveryFunctionHandler } from '../functions/event-redelivery/handler';
import { loadConfig } from '../src/platform/config/env';
import { ConfigurationError } from '../src/platform/core/errors';
import { RELAY_BATCH_SIZE, RELAY_BATCHING_WINDOW_MS, routes } from '../src/platform/routes';
import { JavaMissingError, PortInUseError } from './local/dynamodb-local';
import { describeBatch, LocalOptimizely } from './local/local-optimizely';
import {
  checkLocalConfiguration,
  demoProfileApi,
  LOCAL_DATA_DIR,
  LOCAL_OPTIMIZELY_PREFIX,
  LOCAL_PROFILE_API_PREFIX,
  LOCAL_PROFILE_API_TOKEN,
  type LocalDynamoDb,
  localEnvironment,
  localSettings,
  startLocalDynamoDb,
} from './local/local-stack';
import { type OutboxStream, startOutboxStream } from './local/outbox-stream';
import { type RedeliveryLoop, startRedeliveryLoop } from './local/redelivery-loop';
import { importFunction, type LocalServer, localMemoryRoute, startLocalServer } from './local/server';

const USAGE = `Usage: npm start [-- --in-memory]

  --in-memory           keep no data (default: .local/dynamodb)
  PORT=3000             port of the local server (127.0.0.1)
  DYNAMODB_LOCAL_PORT=8000  port of the embedded DynamoDB Local
  DYNAMODB_ENDPOINT=…   use this DynamoDB instead of starting one
  LOCAL_PROFILE_API_LATENCY_MS=0  delay of the local Profile API stand-in's answers
  SEGMENT_SPACE_ID=     (empty) no Profile API read-through
Every other variable is described in docs/configuration.md.`;

/** A problem the user can fix: one line, no stack trace. */
function fail(message: string): never {
  console.error(`crosswalk: ${message.split('\n').join('\ncrosswalk: ')}`);
  process.exit(1);
}

function isUserError(error: unknown): error is Error {
  return (
    error instanceof ConfigurationError ||
    error instanceof JavaMissingError ||
    error instanceof PortInUseError
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const unknown = args.filter((a) => a !== '--in-memory');
  if (unknown.length > 0) fail(`unknown argument ${unknown.join(' ')}; see npm start -- --help`);
  const inMemory = args.includes('--in-memory');

  // 1. Checks that need nothing running.
  let settings: ReturnType<typeof localSettings>;
  let environment: Record<string, string>;
  let datafile: string | undefined;
  try {
    settings = localSettings();
    environment = localEnvironment(
      process.env,
      `http://127.0.0.1:${settings.port}${LOCAL_OPTIMIZELY_PREFIX}`,
      `http://127.0.0.1:${settings.port}${LOCAL_PROFILE_API_PREFIX}`,
    );
    ({ datafile } = checkLocalConfiguration(environment));
  } catch (error) {
    if (isUserError(error)) fail(error.message);
    throw error;
  }

  // 2. The port, before anything heavier starts.
  const optimizely = new LocalOptimizely({
    datafiles: new Map(datafile ? [[environment.OPTIMIZELY_SDK_KEY!, datafile]] : []),
    onBatch: (batch) => console.log(`optimizely events (local sink): ${describeBatch(batch)}`),
    keep: 1_000,
  });
  // Segment's Profile API, on loopback: the demo's people, and Chiara, whom only Segment knows.
  const profileApi = demoProfileApi({ latencyMs: settings.profileApiLatencyMs });
  let server: LocalServer;
  try {
    server = await startLocalServer({
      port: settings.port,
      localRoutes: [
        ...optimizely.routes(LOCAL_OPTIMIZELY_PREFIX),
        ...profileApi.routes(LOCAL_PROFILE_API_PREFIX),
        localMemoryRoute,
      ],
      // Listening now (a taken port fails first), but answering 503 + Retry-After until ready.
      startClosed: true,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      fail(`port ${settings.port} (PORT) is already in use: stop what uses it, or set PORT to a free port`);
    if (code === 'EACCES')
      fail(`port ${settings.port} (PORT) is not allowed for this user; set PORT to 1024 or above`);
    throw error;
  }

  // 3. DynamoDB Local, then the handlers; any failure from here on stops what started.
  let dynamo: LocalDynamoDb | undefined;
  let redelivery: RedeliveryLoop | undefined;
  let relay: OutboxStream | undefined;
  const stopAll = async () => {
    await redelivery?.stop().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    await server.close().catch(() => undefined);
    await dynamo?.stop().catch(() => undefined);
  };
  try {
    dynamo = await startLocalDynamoDb({
      endpoint: environment.DYNAMODB_ENDPOINT,
      tableName: environment.TABLE_NAME!,
      inMemory,
      port: settings.dynamoDbLocalPort,
    });
    environment.DYNAMODB_ENDPOINT = dynamo.endpoint;
    Object.assign(process.env, environment);
    await server.preload();
    const { handler: redeliver } = await importFunction<RedeliveryFunctionHandler>('event-redelivery');
    // The relay's trigger: the table's stream, read as Lambda's event source mapping reads it.
    relay = await startOutboxStream({
      endpoint: dynamo.endpoint,
      tableName: environment.TABLE_NAME!,
      handler: redeliver,
      batchSize: RELAY_BATCH_SIZE,
      windowMs: RELAY_BATCHING_WINDOW_MS,
      onError: (error) =>
        console.error(JSON.stringify({ level: 'error', message: 'relay run failed', error: String(error) })),
    });
    redelivery = startRedeliveryLoop({
      handler: redeliver,
      intervalMs: loadConfig(environment).EVENT_REDELIVERY_INTERVAL_MS,
      onReport: (report) => {
        if (report.due === 0) return;
        console.log(
          `optimizely events (redelivery): ${report.redelivered} redelivered, ${report.stillUndelivered} still waiting, ${report.dropped} dropped`,
        );
      },
      onError: (error) =>
        console.error(
          JSON.stringify({ level: 'error', message: 'redelivery run failed', error: String(error) }),
        ),
    });
  } catch (error) {
    await stopAll();
    if (isUserError(error)) fail(error.message);
    console.error(error);
    process.exit(1);
  }

  server.open();
  const where = dynamo.embedded
    ? inMemory
      ? 'embedded, in memory'
      : `embedded, data in ${LOCAL_DATA_DIR}`
    : 'external';
  const events = environment.OPTIMIZELY_EVENT_ENDPOINT!;
  const localEvents = events.startsWith(`${server.url}${LOCAL_OPTIMIZELY_PREFIX}`);
  console.log(`Crosswalk is running at ${server.url}`);
  console.log(
    `DynamoDB:   ${dynamo.endpoint} (${where}), table ${environment.TABLE_NAME}${dynamo.tableCreated ? ' (created)' : ''}`,
  );
  console.log(
    `Datafile:   ${environment.OPTIMIZELY_DATAFILE ?? environment.OPTIMIZELY_DATAFILE_URL_TEMPLATE} (SDK key ${environment.OPTIMIZELY_SDK_KEY})`,
  );
  console.log(
    `Events:     ${localEvents ? 'local sink, one log line per batch (set OPTIMIZELY_EVENT_ENDPOINT to send them to Optimizely)' : `sent to ${events}`}`,
  );
  console.log(
    `Relay:      the table's stream, ${RELAY_BATCH_SIZE} items or ${RELAY_BATCHING_WINDOW_MS} ms per batch; redelivery every ${loadConfig(environment).EVENT_REDELIVERY_INTERVAL_MS / 1000} s from the outbox in DynamoDB (EVENT_REDELIVERY_INTERVAL_MS)`,
  );
  const readThrough = environment.SEGMENT_SPACE_ID
    ? `read-through from ${environment.SEGMENT_PROFILE_API_URL} (space ${environment.SEGMENT_SPACE_ID})`
    : 'read-through off (SEGMENT_SPACE_ID is empty)';
  console.log(
    `Profile API: ${readThrough}; local stand-in at ${server.url}${LOCAL_PROFILE_API_PREFIX} (token ${LOCAL_PROFILE_API_TOKEN}, ${settings.profileApiLatencyMs} ms, 100 req/s)`,
  );
  console.log(
    `Local keys: API_KEYS=${environment.API_KEYS} ADMIN_API_KEYS=${environment.ADMIN_API_KEYS} SEGMENT_SHARED_SECRET=${environment.SEGMENT_SHARED_SECRET} SEGMENT_WEBHOOK_TOKEN=${environment.SEGMENT_WEBHOOK_TOKEN}`,
  );
  console.log('\nRoutes:');
  for (const route of routes) console.log(`  ${route.method.padEnd(5)}${route.path}  → ${route.function}`);
  console.log(`\nTry:\n  npm run demo\n  curl -s ${server.url}/health`);
  console.log(`  open ${server.url}/console (the identity console; operator key: ADMIN_API_KEYS above)`);
  console.log('\nCtrl-C stops the server and DynamoDB Local.');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await stopAll();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
