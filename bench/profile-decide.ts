/**
 * `npx tsx bench/profile-decide.ts`: a CPU profile of the warm decide (the identity in the container's
 * cache, no event), for finding where the µs above the bare SDK go. Seeds a small graph on DynamoDB
 * Local, warms the handler, then profiles only the timed loop through `node:inspector` and prints self
 * time grouped by module (package, or Crosswalk file) and by function. Writes the raw profile to
 * decide.cpuprofile (open it in Chrome DevTools or speedscope for the flame graph).
 *
 *   PROFILE_CALLS=50000 USER_PROFILE_SERVICE=dynamodb npx tsx bench/profile-decide.ts
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { agentApiDependencies } from '../functions/agent-api/dependencies';
import { createAgentApiHandler } from '../functions/agent-api/handler';
import { segmentWebhookDependencies } from '../functions/segment-webhook/dependencies';
import { createSegmentWebhookHandler } from '../functions/segment-webhook/handler';
import { ensureTable, startDynamoDbLocal } from '../scripts/local/dynamodb-local';
import { createOptimizelyClient } from '../src/optimizely/projects';
import { OptimizelyDecideOption } from '../src/optimizely/sdk';
import { loadConfig } from '../src/platform/config/env';
import { createDynamoDbClient } from '../src/platform/dynamodb/client';
import { benchDatafile } from './fixtures/datafile';
import { benchPeople } from './fixtures/segment-events';
import { seedGraph } from './ingest';
import { type HttpHandler, invoke, prepareCall } from './lib/harness';

const repoRoot = resolve(import.meta.dirname, '..');
const CALLS = Number(process.env.PROFILE_CALLS ?? 40_000);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
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

async function main(): Promise<void> {
  const work = tmpdir();
  const generated = benchDatafile(40);
  const datafile = JSON.stringify(generated.datafile);
  const datafilePath = join(work, `profile-datafile-${process.pid}.json`);
  writeFileSync(datafilePath, datafile);
  const dynamo = await startDynamoDbLocal({});
  try {
    const env = {
      ...process.env,
      TABLE_NAME: 'crosswalk-profile',
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      LOG_LEVEL: 'error',
      CROSSWALK_METRICS: 'off',
      API_KEYS: 'k',
      SEGMENT_WEBHOOK_TOKEN: 't',
      OPTIMIZELY_SDK_KEY: String(generated.datafile.sdkKey),
      OPTIMIZELY_DATAFILE: datafilePath,
      OPTIMIZELY_EVENT_ENDPOINT: 'http://127.0.0.1:9/v1/events',
      ACCOUNT_BUCKETED_FLAGS: generated.accountBucketedFlags.join(','),
      ENABLE_OVERRIDES: process.env.ENABLE_OVERRIDES ?? 'false',
      USER_PROFILE_SERVICE: process.env.USER_PROFILE_SERVICE ?? 'off',
    };
    const config = loadConfig(env);
    await ensureTable(createDynamoDbClient({ endpoint: dynamo.endpoint }), config.TABLE_NAME);
    const people = benchPeople(300);
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
    const handler = createAgentApiHandler(agentApiDependencies(config)) as HttpHandler;
    const flagKey = generated.flagKeys.find((k) => !generated.accountBucketedFlags.includes(k)) as string;
    const calls = people.slice(0, 200).map((p, i) =>
      prepareCall({
        functionName: 'decide',
        routeKey: 'POST /v1/decide',
        url: `/v1/decide?keys=${flagKey}`,
        headers: { 'x-api-key': 'k' },
        body: JSON.stringify({
          identifiers: i % 2 === 0 ? { user_id: p.userId } : { anonymous_id: p.anonymousIds[0] },
          userAttributes: { platform: 'web' },
          decideOptions: ['DISABLE_DECISION_EVENT'],
        }),
      }),
    );
    const bare = createOptimizelyClient(datafile, { dispatchEvent: async () => ({ statusCode: 200 }) });
    await bare.onReady();
    const contexts = calls.map((_, i) => ({ id: `person-${i}`, attributes: { platform: 'web' } }));
    const disable = [OptimizelyDecideOption.DISABLE_DECISION_EVENT];
    const loop = async (n: number) => {
      for (let i = 0; i < n; i++) await invoke(handler, calls[i % calls.length]!);
    };
    const bareLoop = (n: number) => {
      for (let i = 0; i < n; i++) {
        const c = contexts[i % contexts.length]!;
        bare.createUserContext(c.id, c.attributes)?.decide(flagKey, disable);
      }
    };
    await loop(CALLS / 2);
    bareLoop(CALLS / 2);
    let started = performance.now();
    await loop(CALLS);
    const handlerUs = ((performance.now() - started) * 1000) / CALLS;
    started = performance.now();
    bareLoop(CALLS);
    const bareUs = ((performance.now() - started) * 1000) / CALLS;
    console.log(
      `warm decide ${handlerUs.toFixed(1)} µs, bare SDK ${bareUs.toFixed(1)} µs (${(handlerUs / bareUs).toFixed(2)}×)`,
    );

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
    const nodes = profile.nodes.filter((n) => n.callFrame.functionName !== '(idle)');
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
