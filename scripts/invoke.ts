/**
 * `npm run invoke -- <function> <event.json>`: runs one function once on one event file and prints
 * the result, as `sam local invoke` does on the synthesized template. Functions that use the table
 * get an in-memory DynamoDB Local unless DYNAMODB_ENDPOINT is set.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type FunctionName, functionSpecs } from '../lib/routes';
import { JavaMissingError } from './local/dynamodb-local';
import { lambdaContext } from './local/lambda-context';
import { applyLocalDefaults, type LocalStack, startLocalStack } from './local/local-stack';
import { loadHandler } from './local/server';

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
    console.error(`Cannot read event ${file}: ${(error as Error).message}`);
    return 2;
  }

  let stack: LocalStack | undefined;
  try {
    applyLocalDefaults();
    if (spec.tableAccess !== 'none') stack = await startLocalStack({ inMemory: true });
    const handler = await loadHandler(fn);
    const result = await handler(event as never, lambdaContext(fn));
    console.log(JSON.stringify(result, null, 2));
    return 0;
  } catch (error) {
    if (error instanceof JavaMissingError) {
      console.error(`crosswalk: ${error.message}`);
      return 1;
    }
    console.error(error);
    return 1;
  } finally {
    await stack?.stop();
  }
}

main().then((code) => process.exit(code));
