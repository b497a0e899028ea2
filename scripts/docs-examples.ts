/**
 * `npm run docs:examples`: runs the shell examples of docs/api.md and docs/profile-api.md, each against a fresh local Crosswalk
 * (in-memory DynamoDB Local, npm start's configuration, the demo story sent) and writes what they
 * answered under each example. The docs test fails when a doc and its commands disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDynamoDbClient } from '../src/platform/dynamodb/client';
import { examplesOf, runExample, shownOutput, withOutputs } from './docs/examples';
import { startDocsApp } from './docs/examples-app';
import { ensureTable, startDynamoDbLocal } from './local/dynamodb-local';
import { repoRoot } from './local/local-stack';

/** Docs whose examples are run, each against a Crosswalk of its own (a fresh table). */
export const EXAMPLE_DOCS = ['docs/api.md', 'docs/profile-api.md'];

async function main(): Promise<void> {
  const dynamo = await startDynamoDbLocal({});
  try {
    for (const [i, file] of EXAMPLE_DOCS.entries()) {
      const tableName = `crosswalk-docs-${i}`;
      const client = createDynamoDbClient({ endpoint: dynamo.endpoint });
      await ensureTable(client, tableName);
      client.destroy();
      const app = await startDocsApp({ dynamoDbEndpoint: dynamo.endpoint, tableName });
      try {
        const path = resolve(repoRoot, file);
        const doc = readFileSync(path, 'utf8');
        const examples = examplesOf(doc);
        const outputs: string[] = [];
        for (const example of examples)
          outputs.push(shownOutput(await runExample(example.command, app.url), example.lines));
        writeFileSync(path, withOutputs(doc, examples, outputs));
        console.log(`${file}: ${examples.length} examples run and written`);
      } finally {
        await app.close();
      }
    }
  } finally {
    await dynamo.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
