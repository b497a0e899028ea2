/**
 * `npm run bench`: Crosswalk's hot paths measured against floors taken in the same run, on DynamoDB
 * Local with a generated 40-flag datafile and a ≥10,000-person identity graph. Prints a table and
 * writes bench-results.json. Nothing leaves loopback: Optimizely's event API and CDN and Segment's
 * Profile API are local fakes. See docs/benchmarks.md for what each figure means and the latest results.
 * `npm run bench` runs this file compiled as the stack compiles a function (bench/compiled.ts), not
 * through tsx; `npx tsx bench/run.ts` still works, with tsx's `keepNames` cost on every figure.
 *
 *   npm run bench                 everything (about 3 minutes on 2 cores)
 *   BENCH_PEOPLE=2000 npm run bench   a smaller graph, for a quick look
 *   BENCH_ONLY=decide,cold-start npm run bench   some sections only
 *     (sections: ingest, backfill, decide, read-through, seed-pattern, http, events, cold-start)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { agentApiDependencies } from '../functions/agent-api/dependencies';
import { createAgentApiHandler } from '../functions/agent-api/handler';
import { segmentWebhookDependencies } from '../functions/segment-webhook/dependencies';
import { createSegmentWebhookHandler } from '../functions/segment-webhook/handler';
import { ensureTable, startDynamoDbLocal } from '../scripts/local/dynamodb-local';
import { startLocalOptimizely } from '../scripts/local/local-optimizely';
import type { CachedIdentityReader } from '../src/identity/cache';
import { loadConfig } from '../src/platform/config/env';
import { createDynamoDbClient } from '../src/platform/dynamodb/client';
import { type FunctionSpec, functionSpecs } from '../src/platform/routes';
import { benchBackfill } from './backfill';
import {
  bundleDynamoDbClientOnly,
  bundledFunctions,
  bundleKb,
  cdkOutReadThrough,
  coldStartMs,
  sameWorkFloorMs,
  synthesize,
} from './cold-start';
import { benchDecide } from './decide';
import { benchDecideReads } from './decide-reads';
import { benchEvents } from './events';
import { benchDatafile } from './fixtures/datafile';
import { type BenchPerson, benchPeople } from './fixtures/segment-events';
import { benchHttp } from './http-floor';
import { benchIngest, seedGraph } from './ingest';
import { collectGarbage, type HttpHandler, localEngineEnv } from './lib/harness';
import { Report } from './lib/report';
import { benchReadThrough } from './read-through';
import { benchSeedPattern } from './seed-pattern';

const repoRoot = resolve(import.meta.dirname, '..');
const TABLE = 'crosswalk-bench';
const API_KEY = 'bench-api-key';
const WEBHOOK_TOKEN = 'bench-webhook-token';
const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 10_000);
const SECTIONS = [
  'ingest',
  'backfill',
  'decide',
  'read-through',
  'seed-pattern',
  'http',
  'events',
  'cold-start',
] as const;
type Section = (typeof SECTIONS)[number];

function selectedSections(): Set<Section> {
  const only = process.env.BENCH_ONLY?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!only || only.length === 0) return new Set(SECTIONS);
  const unknown = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new Error(`BENCH_ONLY: unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.join(', ')}`);
  }
  return new Set(only as Section[]);
}

let sectionStarted = performance.now();
function section(title: string): void {
  const now = performance.now();
  console.log(`  (${((now - sectionStarted) / 1000).toFixed(1)} s)\n${title}`);
  sectionStarted = now;
}

async function main(): Promise<void> {
  const started = performance.now();
  const run = selectedSections();
  const report = new Report();
  const work = mkdtempSync(join(tmpdir(), 'crosswalk-bench-'));
  const generated = benchDatafile(40);
  const datafile = JSON.stringify(generated.datafile);
  const sdkKey = String(generated.datafile.sdkKey);
  const datafilePath = join(work, 'datafile.json');
  writeFileSync(datafilePath, datafile);
  const sampleDatafile = readFileSync(join(repoRoot, 'events', 'sample-datafile.json'), 'utf8');
  const optimizely = await startLocalOptimizely({
    datafiles: new Map([
      [sdkKey, datafile],
      ['local-sample', sampleDatafile],
    ]),
    keep: 100,
  });
  const dynamo = await startDynamoDbLocal({});
  const stops: (() => Promise<void>)[] = [() => optimizely.close(), () => dynamo.stop()];
  try {
    const benchEnv: Record<string, string> = {
      ...localEngineEnv(TABLE, dynamo.endpoint),
      API_KEYS: API_KEY,
      SEGMENT_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
      OPTIMIZELY_SDK_KEY: sdkKey,
      OPTIMIZELY_DATAFILE: datafilePath,
      OPTIMIZELY_DATAFILE_URL_TEMPLATE: optimizely.datafileUrlTemplate,
      OPTIMIZELY_EVENT_ENDPOINT: optimizely.eventEndpoint,
      OPTIMIZELY_CMAB_PREDICTION_ENDPOINT: optimizely.predictionEndpointTemplate,
      ACCOUNT_BUCKETED_FLAGS: generated.accountBucketedFlags.join(','),
      // The deployed defaults, so npm start's local ones (overrides and profiles on) do not apply.
      ENABLE_OVERRIDES: 'false',
      USER_PROFILE_SERVICE: 'off',
    };
    // Handlers built as each Lambda entry builds them, once per "container".
    const config = loadConfig({ ...process.env, ...benchEnv });
    const client = createDynamoDbClient({ endpoint: dynamo.endpoint });
    await ensureTable(client, TABLE);
    const webhook: HttpHandler = createSegmentWebhookHandler(segmentWebhookDependencies(config));
    const newDecideContainer = () => {
      const deps = agentApiDependencies(config);
      return {
        handler: createAgentApiHandler(deps) as HttpHandler,
        identityCache: deps.decisions.identities as CachedIdentityReader,
        afterResponse: deps.afterResponse,
      };
    };
    const decideContainer = newDecideContainer();

    const needsGraph =
      run.has('ingest') ||
      run.has('backfill') ||
      run.has('decide') ||
      run.has('seed-pattern') ||
      run.has('http') ||
      run.has('events');
    const people: BenchPerson[] = needsGraph ? benchPeople(PEOPLE) : [];
    if (needsGraph) {
      section(`Seeding ${PEOPLE.toLocaleString('en')} people through the Segment webhook handler`);
      const seeded = await seedGraph(webhook, people, WEBHOOK_TOKEN);
      const accounts = new Set(people.map((p) => p.accountId)).size;
      console.log(
        `  ${seeded.events} events (identify, track, group) in ${seeded.seconds.toFixed(1)} s: ` +
          `${people.length} people, ${accounts} accounts`,
      );
    }

    if (run.has('ingest')) {
      section('Ingest');
      await benchIngest({
        handler: webhook,
        people,
        token: WEBHOOK_TOKEN,
        client,
        tableName: TABLE,
        report,
      });
    }

    if (run.has('backfill')) {
      section('Backfill: the same people from a Segment S3 archive, on a fresh table');
      await benchBackfill({ config, client, people, report });
    }

    const flagKey = generated.flagKeys.find((k) => !generated.accountBucketedFlags.includes(k)) as string;
    if (run.has('decide')) {
      section('Decide (in process)');
      // Seeding leaves garbage behind; collect it so it is not charged to the decide figures.
      await collectGarbage();
      const memory = process.memoryUsage();
      console.log(
        `  (heap ${(memory.heapUsed / 2 ** 20).toFixed(0)} MiB used, rss ${(memory.rss / 2 ** 20).toFixed(0)} MiB)`,
      );
      // The same container with Agent's user profile service on (USER_PROFILE_SERVICE=dynamodb).
      const withProfiles = createAgentApiHandler(
        agentApiDependencies(loadConfig({ ...process.env, ...benchEnv, USER_PROFILE_SERVICE: 'dynamodb' })),
      ) as HttpHandler;
      await benchDecide({
        ...decideContainer,
        withProfiles,
        newContainer: newDecideContainer,
        client,
        people,
        datafile,
        sdkKey,
        flagKey,
        cmabFlagKey: generated.cmabFlagKey,
        predictions: () => optimizely.optimizely.received.predictions,
        apiKey: API_KEY,
        tableName: TABLE,
        eventEndpoint: optimizely.eventEndpoint,
        report,
      });
    }

    if (run.has('read-through')) {
      section('Profile API read-through: first decide of a person only Segment knows (loopback stand-in)');
      await benchReadThrough({ config, sdkKey, flagKey, apiKey: API_KEY, report });
    }

    if (run.has('seed-pattern')) {
      section('Seed pattern: per-request Profile API vs Crosswalk');
      await benchSeedPattern(people, decideContainer.identityCache, report);
    }

    if (run.has('http')) {
      section('Decide over HTTP (npm start, autocannon)');
      const bodies = people
        .filter((_, i) => i % 7 === 0)
        .map((p) => JSON.stringify({ identifiers: { anonymous_id: p.anonymousIds[0] }, userAttributes: {} }));
      await benchHttp({
        env: benchEnv,
        bodies,
        flagKey,
        apiKey: API_KEY,
        datafilePath,
        eventEndpoint: optimizely.eventEndpoint,
        report,
      });
      section('Decide reads: round trips with a delayed DynamoDB (profile service and overrides on)');
      await benchDecideReads({
        env: benchEnv,
        dynamoEndpoint: dynamo.endpoint,
        tableName: TABLE,
        people,
        flagKey,
        apiKey: API_KEY,
        report,
      });
    }

    if (run.has('events')) {
      section('Events: answer first, flush after, outbox (docs/events.md)');
      await benchEvents({ env: benchEnv, people, flagKey, sdkKey, apiKey: API_KEY, report });
    }

    if (run.has('cold-start')) {
      section('Cold start and bundle size (cdk synth assets)');
      synthesize();
      const functions = bundledFunctions();
      const coldEnv = {
        ...process.env,
        ...benchEnv,
        // The sample events are written for the sample datafile.
        OPTIMIZELY_SDK_KEY: 'local-sample',
        OPTIMIZELY_DATAFILE: join(repoRoot, 'events', 'sample-datafile.json'),
        API_KEYS: '',
        SEGMENT_WEBHOOK_TOKEN: '',
        ACCOUNT_BUCKETED_FLAGS: 'team_dashboard',
        // As deployed: no --enable-source-maps (see lib/constructs/crosswalk-function.ts).
        NODE_OPTIONS: '',
      };
      const coldMs = new Map<string, number>();
      for (const fn of functions) {
        // The backfill's sample reads S3: never reached from the bench (nothing leaves loopback).
        if (fn.name === 'segment-backfill') continue;
        const cold = await coldStartMs(fn, coldEnv, 9);
        coldMs.set(fn.name, cold.value);
        report.add(`cold_start_ms_${fn.name.replaceAll('-', '_')}`, {
          value: cold.value,
          unit: 'ms',
          floor: cold.floor,
          target: 'ratio ≤ 2.0',
          check: (x) => (x.ratio ?? Infinity) <= 2.0,
        });
      }
      // The least a function reading DynamoDB on its first request can cost: the bundled client built
      // and one GetItem sent, nothing of Crosswalk (see docs/benchmarks.md, cold starts).
      const sameWork = await sameWorkFloorMs(await bundleDynamoDbClientOnly(), coldEnv, 9);
      report.add('cold_start_ms_same_work_floor', {
        value: sameWork.value,
        unit: 'ms',
        floor: sameWork.floor,
        target: 'reported (DynamoDB client + one GetItem)',
      });
      // Each function that reads DynamoDB against that floor: what is Crosswalk's own beyond the work.
      const readers = functions.filter(
        (fn) => functionSpecs[fn.name as keyof typeof functionSpecs]?.table.length,
      );
      const worst = readers
        .filter((fn) => coldMs.has(fn.name))
        .reduce((a, b) => ((coldMs.get(a.name) ?? 0) >= (coldMs.get(b.name) ?? 0) ? a : b));
      report.add('cold_start_ms_worst_over_same_work', {
        value: coldMs.get(worst.name) ?? Number.NaN,
        unit: 'ms',
        floor: sameWork.value,
        target: `reported (${worst.name}, the slowest function reading DynamoDB; floor: the same-work floor)`,
      });
      for (const fn of functions) {
        // The backfill runs on demand, for minutes, off any request path: its size is reported only.
        const onDemand = fn.name === 'segment-backfill';
        report.add(`bundle_kb_${fn.name.replaceAll('-', '_')}`, {
          value: bundleKb(fn),
          unit: 'KB',
          target: onDemand ? 'reported (on demand; S3 client)' : '≤ 400',
          ...(onDemand ? {} : { check: (x: { value: number }) => x.value <= 400 }),
        });
      }
      // The read-through's code ships only where the stack configures a Segment space: its functions again.
      synthesize('bench-space');
      for (const fn of bundledFunctions(cdkOutReadThrough)) {
        const spec: FunctionSpec = functionSpecs[fn.name as keyof typeof functionSpecs];
        if (!spec.secrets.includes('profileApi')) continue;
        report.add(`bundle_kb_${fn.name.replaceAll('-', '_')}_read_through`, {
          value: bundleKb(fn),
          unit: 'KB',
          target: '≤ 400',
          check: (x) => x.value <= 400,
        });
      }
    }

    section('');
    const events = optimizely.optimizely.received;
    console.log(`\n  (${events.visitors} decision and conversion events reached the loopback event API)`);
    report.printTable();
    const out = join(repoRoot, 'bench-results.json');
    report.write(out);
    console.log(`\nWrote ${out} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
