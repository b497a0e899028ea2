/**
 * Cold start as a fresh process sees it: `node` importing a function's bundled asset from
 * `cdk synth` (cdk.out) and answering its sample event once, against a floor of a fresh `node`
 * process that does nothing. Also reports each bundle's minified size.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { functionSpecs } from '../lib/routes';
import { median } from './lib/stats';

export interface BundledFunction {
  name: string;
  logicalId: string;
  bundle: string;
}

const repoRoot = resolve(import.meta.dirname, '..');
const cdkOut = join(repoRoot, 'cdk.out');

/** Runs `cdk synth` so the measured bundles are the current code's. */
export function synthesize(): void {
  const result = spawnSync('npx', ['cdk', 'synth', '--quiet'], {
    cwd: repoRoot,
    stdio: 'pipe',
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`cdk synth failed:\n${result.stderr}`);
}

function pascal(name: string): string {
  return name
    .split(/[-_]/)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

/** Finds each function of lib/routes.ts in the synthesized template through its asset metadata. */
export function bundledFunctions(): BundledFunction[] {
  const templateFile = ['Crosswalk.template.json'].map((f) => join(cdkOut, f)).find((f) => existsSync(f));
  if (!templateFile) throw new Error('cdk.out/Crosswalk.template.json not found: run npm run synth');
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as {
    Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
  };
  const found: BundledFunction[] = [];
  for (const name of Object.keys(functionSpecs)) {
    const prefix = pascal(name);
    const entry = Object.entries(template.Resources).find(
      ([id, r]) =>
        r.Type === 'AWS::Lambda::Function' && id.startsWith(prefix) && r.Metadata?.['aws:asset:path'],
    );
    if (!entry) continue;
    const assetDir = join(cdkOut, entry[1].Metadata?.['aws:asset:path'] as string);
    const bundle = ['index.mjs', 'index.js'].map((f) => join(assetDir, f)).find((f) => existsSync(f));
    if (bundle) found.push({ name, logicalId: entry[0], bundle });
  }
  return found;
}

export function bundleKb(fn: BundledFunction): number {
  return statSync(fn.bundle).size / 1024;
}

function timeProcess(args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { env, stdio: 'pipe', encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0)
    throw new Error(`cold start process failed (${result.status}): ${result.stderr || result.stdout}`);
  if (args.length > 1 && !result.stdout.includes('"statusCode"')) {
    throw new Error(`cold start process gave no result: ${result.stdout} ${result.stderr}`);
  }
  return elapsed;
}

/** Median wall-clock ms of a fresh process doing nothing. */
export function floorProcessMs(runs: number): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(timeProcess(['-e', ''], process.env));
  return median(samples);
}

/** Median wall-clock ms of a fresh process importing the bundle and answering one event. */
export function coldStartMs(fn: BundledFunction, env: NodeJS.ProcessEnv, runs: number): number {
  const event = readFileSync(
    join(repoRoot, functionSpecs[fn.name as keyof typeof functionSpecs].sampleEvent),
    'utf8',
  );
  const script = `
const event = ${event};
const context = { awsRequestId: 'cold', functionName: ${JSON.stringify(fn.name)}, getRemainingTimeInMillis: () => 30000, callbackWaitsForEmptyEventLoop: false };
const { handler } = await import(${JSON.stringify(pathToFileURL(fn.bundle).href)});
const result = await handler(event, context);
process.stdout.write(JSON.stringify(result));
process.exit(0);
`;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(timeProcess(['--input-type=module', '-e', script], env));
  return median(samples);
}
