/**
 * A CPU profile of the warm decide (the identity in the container's cache, no event), for finding
 * where the µs above the bare SDK go. Seeds the bench's graph on DynamoDB Local and times the warm
 * decide exactly as `npm run bench` does (bench/decide.ts: the same people, calls and floor,
 * interleaved), then profiles only the handler's loop through `node:inspector` and prints self time
 * grouped by module (package, or Crosswalk file) and by function. Writes the raw profile to
 * decide.cpuprofile (open it in Chrome DevTools or speedscope for the flame graph).
 *
 *   npx tsx bench/compiled.ts bench/profile-decide.ts      compiled as the bench and the stack compile
 *   npx tsx bench/profile-decide.ts                        through tsx (readable names, plus tsx's __name)
 *   PROFILE_CALLS=50000 PROFILE_PEOPLE=300 USER_PROFILE_SERVICE=dynamodb npx tsx bench/profile-decide.ts
 *
 * Compiled, frames are placed through the bundle's source map (file and line; names are minified).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { agentApiDependencies } from '../functions/agent-api/dependencies';
import { createAgentApiHandler } from '../functions/agent-api/handler';
import { segmentWebhookDependencies } from '../functions/segment-webhook/dependencies';
import { createSegmentWebhookHandler } from '../functions/segment-webhook/handler';
import { ensureTable, startDynamoDbLocal } from '../scripts/local/dynamodb-local';
import type { EventDispatcher } from '../src/optimizely/sdk';
import { loadConfig } from '../src/platform/config/env';
import { createDynamoDbClient } from '../src/platform/dynamodb/client';
import { bareClient, type Subject, timeWarmDecide, warmSubjects } from './decide';
import { benchDatafile } from './fixtures/datafile';
import { benchPeople } from './fixtures/segment-events';
import { seedGraph } from './ingest';
import { type HttpHandler, invoke, localEngineEnv } from './lib/harness';

const repoRoot = resolve(import.meta.dirname, '..');
const CALLS = Number(process.env.PROFILE_CALLS ?? 40_000);
// The bench's quick run (BENCH_PEOPLE=2000): the warm people are a sample of this graph.
const PEOPLE = Number(process.env.PROFILE_PEOPLE ?? 2_000);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Run from a bundle (bench/compiled.ts): its source map, to place frames in the sources. */
function bundleSourceMap(): { url: string; map: SourceMap } | undefined {
  const script = process.argv[1];
  if (!script?.endsWith('.mjs') || !existsSync(`${script}.map`)) return undefined;
  return {
    url: pathToFileURL(script).href,
    map: new SourceMap(JSON.parse(readFileSync(`${script}.map`, 'utf8'))),
  };
}

/** A compiled frame moved to its source file and line (its name stays the minified one). */
function placeFrame(node: ProfileNode, bundle: ReturnType<typeof bundleSourceMap>): ProfileNode {
  if (!bundle || node.callFrame.url !== bundle.url) return node;
  const entry = bundle.map.findEntry(node.callFrame.lineNumber, node.callFrame.columnNumber) as {
    originalSource?: string;
    originalLine?: number;
  };
  if (!entry.originalSource) return node;
  const source = entry.originalSource.startsWith('file:')
    ? new URL(entry.originalSource).pathname
    : resolve(repoRoot, entry.originalSource);
  return {
    ...node,
    callFrame: { ...node.callFrame, url: source, lineNumber: entry.originalLine ?? 0 },
  };
}

function moduleOf(url: string): string {
  if (!url) return '(native / gc / idle)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  const at = url.indexOf(repoRoot);
  return at >= 0 ? url.slice(at + repoRoot.length + 1) : url;
}

function summarize(nodes: ProfileNode[], total: number, by: (n: ProfileNode) => string, top: number): string {
  const self = new Map<string, number>();
  for (const node of nodes) {
    const key = by(node);
    self.set(key, (self.get(key) ?? 0) + (node.hitCount ?? 0));
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, hits]) => `  ${((hits / total) * 100).toFixed(1).padStart(5)} %  ${key}`)
    .join('\n');
}

const noEvents: EventDispatcher = { dispatchEvent: async () => ({ statusCode: 200 }) };

async function main(): Promise<void> {
  const work = tmpdir();
  const generated = benchDatafile(40);
  const datafile = JSON.stringify(generated.datafile);
  const sdkKey = String(generated.datafile.sdkKey);
  const datafilePath = join(work, `profile-datafile-${process.pid}.json`);
  writeFileSync(datafilePath, datafile);
  const dynamo = await startDynamoDbLocal({});
  try {
    const env = {
      ...process.env,
      ...localEngineEnv('crosswalk-profile', dynamo.endpoint),
      API_KEYS: 'k',
      SEGMENT_WEBHOOK_TOKEN: 't',
      OPTIMIZELY_SDK_KEY: sdkKey,
      OPTIMIZELY_DATAFILE: datafilePath,
      OPTIMIZELY_EVENT_ENDPOINT: 'http://127.0.0.1:9/v1/events',
      ACCOUNT_BUCKETED_FLAGS: generated.accountBucketedFlags.join(','),
      ENABLE_OVERRIDES: process.env.ENABLE_OVERRIDES ?? 'false',
      USER_PROFILE_SERVICE: process.env.USER_PROFILE_SERVICE ?? 'off',
    };
    const config = loadConfig(env);
    await ensureTable(createDynamoDbClient({ endpoint: dynamo.endpoint }), config.TABLE_NAME);
    const people = benchPeople(PEOPLE);
    const webhook = createSegmentWebhookHandler(segmentWebhookDependencies(config));
    // A fresh DynamoDB Local can time out its first transactions: seeding is idempotent, so again.
    for (let attempt = 1; ; attempt++) {
      try {
        await seedGraph(webhook, people, 't');
        break;
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
    const deps = agentApiDependencies(config);
    const options = {
      handler: createAgentApiHandler(deps) as HttpHandler,
      afterResponse: deps.afterResponse,
      apiKey: 'k',
      sdkKey,
      flagKey: generated.flagKeys.find((k) => !generated.accountBucketedFlags.includes(k)) as string,
      people,
    };
    const warm = await warmSubjects(options);
    const times = await timeWarmDecide(options, warm, await bareClient(datafile, noEvents));
    console.log(
      `warm decide ${times.a.toFixed(1)} µs, bare SDK ${times.b.toFixed(1)} µs (${(times.a / times.b).toFixed(2)}×; ` +
        `the bench's decide_warm_us, measured the same way)`,
    );
    let w = 0;
    const loop = async (n: number) => {
      for (let i = 0; i < n; i++) await invoke(options.handler, (warm[w++ % warm.length] as Subject).call);
    };

    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 50 });
    await session.post('Profiler.start');
    await loop(CALLS);
    const { profile } = (await session.post('Profiler.stop')) as { profile: { nodes: ProfileNode[] } };
    session.disconnect();
    const out = join(repoRoot, 'decide.cpuprofile');
    writeFileSync(out, JSON.stringify(profile));
    const bundle = bundleSourceMap();
    const nodes = profile.nodes
      .filter((n) => n.callFrame.functionName !== '(idle)')
      .map((n) => placeFrame(n, bundle));
    const total = nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
    console.log(`\nself time by module (${total} samples):`);
    console.log(summarize(nodes, total, (n) => moduleOf(n.callFrame.url), 25));
    console.log('\nself time by function:');
    console.log(
      summarize(
        nodes,
        total,
        (n) =>
          `${n.callFrame.functionName || '(anonymous)'}  ${moduleOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`,
        40,
      ),
    );
    console.log(`\nwrote ${out}`);
  } finally {
    await dynamo.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
