/**
 * Cold start as a fresh process sees it: `node` importing a function's bundled asset from
 * `cdk synth` (cdk.out) and answering its sample event once, against a floor of a fresh `node`
 * process that does nothing. Also reports each bundle's minified size, and a "same-work floor": a
 * fresh process that only builds the DynamoDB client (bundled as the functions bundle it) and sends
 * one GetItem, the least any function that reads DynamoDB on its first request can cost.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  bundleSubstitutes,
  ESM_REQUIRE_BANNER,
  functionLogicalId,
} from '../lib/constructs/crosswalk-function';
import { type FunctionSpec, functionSpecs } from '../src/platform/routes';
import { median } from './lib/stats';

export interface BundledFunction {
  name: string;
  logicalId: string;
  bundle: string;
}

const repoRoot = resolve(import.meta.dirname, '..');
const cdkOut = join(repoRoot, 'cdk.out');

/** Where a stack with a Segment space is synthesized: its bundles carry the Profile API read-through. */
export const cdkOutReadThrough = join(tmpdir(), 'crosswalk-bench-cdk.out.read-through');

/**
 * Runs `cdk synth` so the measured bundles are the current code's; with `segmentSpaceId`, as a stack
 * that configures the Profile API read-through (its code is bundled only then), into `cdkOutReadThrough`.
 */
export function synthesize(segmentSpaceId?: string): void {
  const args = ['cdk', 'synth', '--quiet', '-c', 'OPTIMIZELY_SDK_KEYS=*'];
  if (segmentSpaceId) args.push('-c', `SEGMENT_SPACE_ID=${segmentSpaceId}`, '-o', cdkOutReadThrough);
  const result = spawnSync('npx', args, {
    cwd: repoRoot,
    stdio: 'pipe',
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`cdk synth failed:\n${result.stderr}`);
}

/** Finds each function of src/platform/routes.ts in the synthesized template through its asset metadata. */
export function bundledFunctions(outdir: string = cdkOut): BundledFunction[] {
  const templateFile = ['Crosswalk.template.json'].map((f) => join(outdir, f)).find((f) => existsSync(f));
  if (!templateFile) throw new Error('cdk.out/Crosswalk.template.json not found: run npm run synth');
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as {
    Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
  };
  const found: BundledFunction[] = [];
  for (const name of Object.keys(functionSpecs)) {
    const logicalId = functionLogicalId(name);
    const resource = template.Resources[logicalId];
    const assetPath =
      resource?.Type === 'AWS::Lambda::Function' ? resource.Metadata?.['aws:asset:path'] : undefined;
    if (!assetPath) throw new Error(`${logicalId} (function ${name}) is not in the synthesized template`);
    const assetDir = join(outdir, assetPath);
    const bundle = ['index.mjs', 'index.js'].map((f) => join(assetDir, f)).find((f) => existsSync(f));
    if (!bundle) throw new Error(`no bundle in ${assetDir} for ${name}`);
    found.push({ name, logicalId, bundle });
  }
  return found;
}

export function bundleKb(fn: BundledFunction): number {
  return statSync(fn.bundle).size / 1024;
}

/** One fresh `node` process: its wall-clock ms and what it printed; throws when it exits non-zero. */
export async function runNode(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ wallMs: number; stdout: string; stderr: string }> {
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (status !== 0) throw new Error(`process failed (${status}): ${stderr || stdout}`);
  return { wallMs, stdout, stderr };
}

/**
 * Wall-clock ms of one fresh process. Spawned asynchronously: the bench's loopback fakes (event
 * API, datafile CDN) live in this process and must keep answering while the child runs.
 */
async function timeProcess(args: string[], env: NodeJS.ProcessEnv, answers: RegExp | null): Promise<number> {
  const { wallMs, stdout, stderr } = await runNode(args, env);
  // The measured process must have answered successfully, or a failing path would time as fast.
  if (answers && !answers.test(stdout)) {
    throw new Error(`cold start process did not answer successfully: ${stdout} ${stderr}`);
  }
  return wallMs;
}

/**
 * Median wall-clock ms of a fresh process importing the bundle and answering one event, and of a
 * fresh process doing nothing (the floor), in alternating runs so machine noise hits both alike.
 */
export async function coldStartMs(
  fn: BundledFunction,
  env: NodeJS.ProcessEnv,
  runs: number,
): Promise<{ value: number; floor: number }> {
  const spec: FunctionSpec = functionSpecs[fn.name as keyof typeof functionSpecs];
  const event = readFileSync(join(repoRoot, spec.sampleEvent), 'utf8');
  // An HTTP function answers 2xx; the scheduled redelivery function reports a complete run.
  const success = spec.scheduleMinutes === undefined ? /"statusCode":2\d\d/ : /"complete":true/;
  const script = `
const event = ${event};
const context = { awsRequestId: 'cold', functionName: ${JSON.stringify(fn.name)}, getRemainingTimeInMillis: () => 30000, callbackWaitsForEmptyEventLoop: false };
const { handler } = await import(${JSON.stringify(pathToFileURL(fn.bundle).href)});
const result = await handler(event, context);
process.stdout.write(JSON.stringify(result));
process.exit(0);
`;
  const samples: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < runs; i++) {
    floors.push(await timeProcess(['-e', ''], env, null));
    samples.push(await timeProcess(['--input-type=module', '-e', script], env, success));
  }
  return { value: median(samples), floor: median(floors) };
}

/**
 * Bundles `@aws-sdk/client-dynamodb` alone with the function construct's esbuild settings and
 * substitutes (lib/constructs/crosswalk-function.ts), for the same-work floor. Returns the file.
 */
export async function bundleDynamoDbClientOnly(): Promise<string> {
  const { build } = await import('esbuild');
  const work = mkdtempSync(join(tmpdir(), 'crosswalk-same-work-'));
  const entry = join(work, 'entry.ts');
  writeFileSync(entry, "export { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';\n");
  const outfile = join(work, 'index.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    banner: { js: ESM_REQUIRE_BANNER },
    nodePaths: [join(repoRoot, 'node_modules')],
    absWorkingDir: repoRoot,
    alias: bundleSubstitutes({ root: repoRoot }),
    logLevel: 'warning',
  });
  return outfile;
}

/**
 * The same-work floor's script: the DynamoDB client built as `createDynamoDbClient` builds it for an
 * endpoint (src/platform/dynamodb/client.ts), and one GetItem of a key that is not there.
 */
export function sameWorkScript(bundle: string): string {
  return `
const { DynamoDBClient, GetItemCommand } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: 'local',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
await client.send(new GetItemCommand({ TableName: process.env.TABLE_NAME, Key: { pk: { S: 'none' }, sk: { S: 'none' } } }));
process.stdout.write('"statusCode":200');
process.exit(0);
`;
}

/** Median wall-clock ms of the same-work floor's process, alternating with bare `node` runs. */
export async function sameWorkFloorMs(
  bundle: string,
  env: NodeJS.ProcessEnv,
  runs: number,
): Promise<{ value: number; floor: number }> {
  const script = sameWorkScript(bundle);
  const samples: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < runs; i++) {
    floors.push(await timeProcess(['-e', ''], env, null));
    samples.push(await timeProcess(['--input-type=module', '-e', script], env, /"statusCode":200/));
  }
  return { value: median(samples), floor: median(floors) };
}
