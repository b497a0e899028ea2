/**
 * `npm start`: serves every route of lib/routes.ts on 127.0.0.1:$PORT (default 3000) through the
 * real handlers, against an embedded DynamoDB Local (data kept in .local/ between runs; `--in-memory`
 * keeps nothing). DYNAMODB_ENDPOINT set → that DynamoDB is used and nothing is started.
 */
import { routes } from '../lib/routes';
import { JavaMissingError } from './local/dynamodb-local';
import { LOCAL_DATA_DIR, startLocalStack } from './local/local-stack';
import { startLocalServer } from './local/server';

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  if (args.has('--help')) {
    console.log(
      'Usage: npm start [-- --in-memory]\n  PORT=3000  DYNAMODB_ENDPOINT=<url to use instead of the embedded DynamoDB Local>',
    );
    return;
  }
  const inMemory = args.has('--in-memory');
  const port = Number(process.env.PORT ?? 3000);

  let stack: Awaited<ReturnType<typeof startLocalStack>>;
  try {
    stack = await startLocalStack({ inMemory });
  } catch (error) {
    if (error instanceof JavaMissingError) {
      console.error(`crosswalk: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const server = await startLocalServer(port);

  const where = stack.embedded
    ? inMemory
      ? 'embedded, in memory'
      : `embedded, data in ${LOCAL_DATA_DIR}`
    : 'external';
  console.log(`Crosswalk is running at ${server.url}`);
  console.log(
    `DynamoDB: ${stack.endpoint} (${where}), table ${process.env.TABLE_NAME}${stack.tableCreated ? ' (created)' : ''}`,
  );
  for (const warning of localWarnings()) console.warn(`warning: ${warning}`);
  console.log('\nRoutes:');
  for (const route of routes) console.log(`  ${route.method.padEnd(5)}${route.path}  → ${route.function}`);
  console.log(`\nTry:\n  curl -s ${server.url}/health`);
  if (routes.some((r) => r.path === '/v1/decide')) {
    console.log(
      `  curl -s -X POST '${server.url}/v1/decide?keys=checkout_redesign' -H 'content-type: application/json' -d '{"userId":"albert-123"}'`,
    );
  }
  console.log('\nCtrl-C stops the server and DynamoDB Local.');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await server.close();
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function localWarnings(): string[] {
  const warnings: string[] = [];
  if (!process.env.SEGMENT_SHARED_SECRET && !process.env.SECRETS_ARN) {
    warnings.push(
      'SEGMENT_SHARED_SECRET is not set: the Segment webhook accepts unsigned requests (local only).',
    );
  }
  if (!process.env.API_KEYS && !process.env.SECRETS_ARN) {
    warnings.push(
      'API_KEYS is not set: decide/track/config/datafile/identities need no API key (local only).',
    );
  }
  return warnings;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
