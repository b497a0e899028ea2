/**
 * `npm run invoke -- <function> [event.json]`: runs one function once on one event file and prints
 * the result, as `sam local invoke` does on the synthesized template (an HTTP function's sample is an
 * API Gateway event; the redelivery function's an EventBridge scheduled event; the backfill's names
 * an s3:// prefix, read from S3_ENDPOINT when set). It checks the configuration
 * first (one line per problem, exit 1), starts an in-memory DynamoDB Local for functions that use
 * the table (unless DYNAMODB_ENDPOINT is set) and Optimizely's two edges on loopback (unless
 * OPTIMIZELY_DATAFILE_URL_TEMPLATE / OPTIMIZELY_EVENT_ENDPOINT are set), so every file in events/
 * runs offline.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigurationError } from '../src/platform/core/errors';
import { type FunctionName, functionSpecs } from '../src/platform/routes';
import { JavaMissingError } from './local/dynamodb-local';
import { lambdaContext } from './local/lambda-context';
import { describeBatch, startLocalOptimizely } from './local/local-optimizely';
import {
  checkLocalConfiguration,
  type LocalDynamoDb,
  localEnvironment,
  startLocalDynamoDb,
} from './local/local-stack';
import { importFunction } from './local/server';

async function main(): Promise<number> {
  const [name, eventFile] = process.argv.slice(2);
  const names = Object.keys(functionSpecs) as FunctionName[];
  if (!name || !(names as string[]).includes(name)) {
    console.error(`Usage: npm run invoke -- <function> [event.json]\nFunctions: ${names.join(', ')}`);
    return 2;
  }
  const fn = name as FunctionName;
  const spec = functionSpecs[fn];
  const file = resolve(eventFile ?? spec.sampleEvent);
  let event: unknown;
  try {
    event = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.error(`crosswalk: cannot read event ${file}: ${(error as Error).message}`);
    return 2;
  }

  const optimizely = await startLocalOptimizely({
    onBatch: (batch) => console.error(`optimizely events (local sink): ${describeBatch(batch)}`),
  });
  let dynamo: LocalDynamoDb | undefined;
  try {
    const environment = localEnvironment(process.env, optimizely.url);
    const { datafile } = checkLocalConfiguration(environment);
    if (datafile) optimizely.optimizely.datafiles.set(environment.OPTIMIZELY_SDK_KEY!, datafile);
    if (spec.table.length > 0) {
      dynamo = await startLocalDynamoDb({
        endpoint: environment.DYNAMODB_ENDPOINT,
        tableName: environment.TABLE_NAME!,
        inMemory: true,
      });
      environment.DYNAMODB_ENDPOINT = dynamo.endpoint;
    }
    Object.assign(process.env, environment);
    const { handler, afterResponse } =
      await importFunction<(event: never, context: unknown) => Promise<unknown>>(fn);
    // The function's own timeout, as Lambda gives it (the backfill stops a minute before it).
    const timeoutMs = 'timeoutSeconds' in spec ? spec.timeoutSeconds * 1000 : undefined;
    const result = await handler(event as never, lambdaContext(fn, timeoutMs));
    // As Lambda would before ending the invocation: what the handler deferred (decide's events) runs.
    await afterResponse?.drain();
    console.log(JSON.stringify(result, null, 2));
    return 0;
  } catch (error) {
    if (error instanceof ConfigurationError || error instanceof JavaMissingError) {
      console.error(`crosswalk: ${error.message.split('\n').join('\ncrosswalk: ')}`);
      return 1;
    }
    console.error(error);
    return 1;
  } finally {
    await dynamo?.stop();
    await optimizely.close();
  }
}

main().then((code) => process.exit(code));
