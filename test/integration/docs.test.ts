/**
 * The docs say what the code does: every shell example of docs/api.md and docs/profile-api.md, run with bash and curl
 * against a Crosswalk configured as `npm start` is (after `npm run demo`), answers exactly what the
 * doc shows under it (times and generated ids aside); the configuration reference lists exactly the
 * variables the code reads; the README stays short; every relative link resolves.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { examplesOf, runExample, shownOutput, stable } from '../../scripts/docs/examples';
import { type DocsApp, startDocsApp } from '../../scripts/docs/examples-app';
import { variables } from '../../src/platform/config/env';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { personalDataIn } from '../support/optimizely';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const read = (file: string) => readFileSync(resolve(repoRoot, file), 'utf8');
const docs = ['README.md', ...readdirSync(resolve(repoRoot, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);

/** Each doc with shell examples, run against its own Crosswalk, and the least number of examples it has. */
const EXAMPLES: [doc: string, atLeast: number][] = [
  ['docs/api.md', 9],
  ['docs/profile-api.md', 5],
];

describe.each(EXAMPLES)('%s examples', (file, atLeast) => {
  let table: TestTable | undefined;
  let app: DocsApp | undefined;
  const doc = read(file);
  const examples = examplesOf(doc);

  beforeAll(async () => {
    table = await createTestTable(`docs-${randomUUID().slice(0, 4)}`);
    app = await startDocsApp({
      dynamoDbEndpoint: process.env.DYNAMODB_ENDPOINT!,
      tableName: table.tableName,
    });
  });

  afterAll(async () => {
    await app?.close();
    await table?.drop();
  });

  it('has examples, each with its output', () => {
    expect(examples.length).toBeGreaterThanOrEqual(atLeast);
    for (const example of examples) expect(doc.slice(example.start, example.end)).toContain('```json\n');
  });

  it('answers each example as the doc shows (npm run docs:examples rewrites them)', async () => {
    // In order: later examples may rely on earlier ones, as a reader running them would.
    for (const example of examples) {
      const shown = /```json\n([\s\S]*?)\n```\n$/.exec(doc.slice(example.start, example.end))?.[1] ?? '';
      const actual = shownOutput(await runExample(example.command, app!.url), example.lines);
      expect({ command: example.command, output: stable(actual) }).toEqual({
        command: example.command,
        output: stable(shown),
      });
    }
  }, 60_000);

  it('sends Optimizely no personal data, whatever the examples do', async () => {
    // The relay sends what the examples' decides and tracks stored: wait for it, not for time.
    await app!.idle();
    if (file === 'docs/api.md') expect(app!.optimizely.batches.length).toBeGreaterThan(0);
    expect(
      app!.optimizely.batches.flatMap((b) => personalDataIn(b, ['albert@example.com', 'chiara@example.com'])),
    ).toEqual([]);
  });
});

describe('docs/configuration.md', () => {
  it('documents exactly the variables the code reads, plus the local scripts’ three', () => {
    const documented = [...read('docs/configuration.md').matchAll(/^\| `([A-Z][A-Z0-9_]*)`/gm)].map(
      (m) => m[1],
    );
    expect([...documented].sort()).toEqual(
      [...Object.keys(variables), 'PORT', 'DYNAMODB_LOCAL_PORT', 'LOCAL_PROFILE_API_LATENCY_MS'].sort(),
    );
    expect(new Set(documented).size).toBe(documented.length);
  });
});

describe('README and docs', () => {
  it('keeps the README under 12 KB', () => {
    expect(Buffer.byteLength(read('README.md'))).toBeLessThanOrEqual(12 * 1024);
  });

  it.each(docs)('%s: every relative link resolves', (file) => {
    const broken = [...read(file).matchAll(/\]\((?!https?:|mailto:|#)([^)\s#]+)/g)]
      .map((m) => m[1]!)
      .filter((target) => !existsSync(resolve(dirname(resolve(repoRoot, file)), target)));
    expect(broken).toEqual([]);
  });
});
