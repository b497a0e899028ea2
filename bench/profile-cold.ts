/**
 * `npx tsx bench/profile-cold.ts`: where each function's cold start goes. For every bundle of
 * `cdk synth` (cdk.out), fresh processes alternate with bare `node -e ''` ones, as in the bench's
 * cold-start section, and each reports three marks: when its script began (Node's own start-up),
 * when the bundle was imported (module evaluation, including the entry's init work), and when the
 * sample event was answered (the first request). One more run per function under `--cpu-prof`
 * attributes the CPU samples of each phase to packages and files through the bundle's source map.
 * Also times a "same-work floor": a bare process that builds the DynamoDB client and sends one
 * GetItem (no Crosswalk code), the least a function that reads DynamoDB on its first request does.
 *
 *   COLD_RUNS=9 COLD_FUNCTIONS=agent-api,health COLD_SKIP_SYNTH=1 npx tsx bench/profile-cold.ts
 *
 * Profiles are written to cold-<function>.cpuprofile (open in Chrome DevTools or speedscope).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureTable, startDynamoDbLocal } from '../scripts/local/dynamodb-local';
import { startLocalOptimizely } from '../scripts/local/local-optimizely';
import { createDynamoDbClient } from '../src/platform/dynamodb/client';
import { type FunctionSpec, functionSpecs } from '../src/platform/routes';
import {
  type BundledFunction,
  bundleDynamoDbClientOnly,
  bundledFunctions,
  runNode,
  sameWorkScript,
  synthesize,
} from './cold-start';
import { localEngineEnv } from './lib/harness';
import { median } from './lib/stats';

const repoRoot = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.COLD_RUNS ?? 9);
const ONLY = process.env.COLD_FUNCTIONS?.split(',').filter(Boolean);
const TABLE = 'crosswalk-cold';
const BASELINE = process.env.COLD_BASELINE;
const BY_CALLER = process.env.COLD_BY === 'caller';
const DETAIL = process.env.COLD_DETAIL?.split(',').filter(Boolean) ?? [];

interface Marks {
  /** ms from the process's time origin to the first line of the script (Node's own start-up). */
  boot: number;
  /** … to the bundle's import resolving (module evaluation and the entry's top-level work). */
  imported: number;
  /** … to the sample event answered. */
  answered: number;
  /** CPU ms (user + system) at the same three marks. */
  cpu: [number, number, number];
  /** hrtime µs at the marks, to split a CPU profile. */
  hr: [number, number, number];
  /** Node's internal modules and bindings loaded during the import and during the first request. */
  loaded: [string[], string[]];
}

interface Run {
  wall: number;
  marks: Marks | null;
  stdout: string;
}

async function runProcess(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const { wallMs: wall, stdout } = await runNode(args, env);
  const line = stdout.split('\n').find((l) => l.startsWith('MARKS '));
  return { wall, marks: line ? (JSON.parse(line.slice(6)) as Marks) : null, stdout };
}

/** The measured script: marks around the import and the first answer, printed on one line. */
function coldScript(specifier: string, event: string, name: string): string {
  return `
const boot = performance.now(); const cpu0 = process.cpuUsage(); const hr0 = process.hrtime.bigint(); const l0 = process.moduleLoadList.length;
const event = ${event};
const context = { awsRequestId: 'cold', functionName: ${JSON.stringify(name)}, getRemainingTimeInMillis: () => 30000, callbackWaitsForEmptyEventLoop: false };
const { handler } = await import(${JSON.stringify(specifier)});
const imported = performance.now(); const cpu1 = process.cpuUsage(); const hr1 = process.hrtime.bigint(); const l1 = process.moduleLoadList.length;
const result = await handler(event, context);
const answered = performance.now(); const cpu2 = process.cpuUsage(); const hr2 = process.hrtime.bigint(); const l2 = process.moduleLoadList.length;
const ms = (c) => (c.user + c.system) / 1000;
process.stdout.write(JSON.stringify(result) + '\\nMARKS ' + JSON.stringify({ boot, imported, answered,
  cpu: [ms(cpu0), ms(cpu1), ms(cpu2)], hr: [Number(hr0 / 1000n), Number(hr1 / 1000n), Number(hr2 / 1000n)], loaded: [process.moduleLoadList.slice(l0, l1), process.moduleLoadList.slice(l1, l2)] }) + '\\n');
process.exit(0);
`;
}

/** The same-work script with the marks: around its import, and after its one GetItem. */
function withMarks(script: string): string {
  const prelude =
    'const boot = performance.now(); const cpu0 = process.cpuUsage(); const hr0 = process.hrtime.bigint(); const l0 = process.moduleLoadList.length;';
  const afterImport =
    'const imported = performance.now(); const cpu1 = process.cpuUsage(); const hr1 = process.hrtime.bigint(); const l1 = process.moduleLoadList.length;';
  const end = `const answered = performance.now(); const cpu2 = process.cpuUsage(); const hr2 = process.hrtime.bigint(); const l2 = process.moduleLoadList.length;
const ms = (c) => (c.user + c.system) / 1000;
process.stdout.write('\\nMARKS ' + JSON.stringify({ boot, imported, answered, cpu: [ms(cpu0), ms(cpu1), ms(cpu2)],
  hr: [Number(hr0 / 1000n), Number(hr1 / 1000n), Number(hr2 / 1000n)], loaded: [process.moduleLoadList.slice(l0, l1), process.moduleLoadList.slice(l1, l2)] }) + '\\n');`;
  return script
    .replace(/^\s*const \{ DynamoDBClient/m, (m) => `${prelude}\n${m}`)
    .replace(/^const client =/m, (m) => `${afterImport}\n${m}`)
    .replace(/^process\.stdout\.write\('"statusCode":200'\);/m, (m) => `${end}\n${m}`);
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Package (`@smithy/core`) or project file (`src/platform/…`) of a source-map path. */
function ownerOf(source: string): string {
  // COLD_DETAIL=@smithy/core,zod: those packages by file instead of as one line.
  for (const pkg of DETAIL) {
    const at = source.indexOf(`node_modules/${pkg}/`);
    if (at >= 0) return source.slice(at + 'node_modules/'.length);
  }
  const nm = source.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = source.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? source);
  }
  const ours = /(?:^|\/)((?:src|functions|build|lib)\/.*)$/.exec(source);
  return ours ? ours[1]! : source.replace(/^(\.\.\/)+/, '');
}

/** CPU ms per phase (boot, import, first request) and per owner within each, from one profile. */
function attribute(profile: CpuProfile, bundle: string, marks: Marks): Map<string, Map<string, number>> {
  const map = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, 'utf8')));
  const bundleUrl = pathToFileURL(bundle).href;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const ownerCache = new Map<number, string>();
  const ownerOfNode = (node: ProfileNode): string => {
    const cached = ownerCache.get(node.id);
    if (cached) return cached;
    const { url, functionName, lineNumber, columnNumber } = node.callFrame;
    let owner: string;
    if (url === bundleUrl) {
      const entry = map.findEntry(lineNumber, columnNumber) as { originalSource?: string };
      owner = entry.originalSource ? ownerOf(entry.originalSource) : '(bundle, unmapped)';
    } else if (url.startsWith('node:')) owner = 'node: (built-ins)';
    else if (url === '') owner = `(${functionName || 'native'})`;
    else owner = url.includes('[eval') ? '(script)' : url;
    ownerCache.set(node.id, owner);
    return owner;
  };
  const phases = new Map<string, Map<string, number>>([
    ['boot', new Map()],
    ['import', new Map()],
    ['first request', new Map()],
    ['exit', new Map()],
  ]);
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    const phase =
      t < marks.hr[0] ? 'boot' : t < marks.hr[1] ? 'import' : t < marks.hr[2] ? 'first request' : 'exit';
    const node = byId.get(id);
    if (!node) return;
    let owner = ownerOfNode(node);
    if (owner === '(idle)') return;
    // Built-in or native work is charged to the nearest bundled caller, and named by its own module.
    if (owner.startsWith('node:') || owner.startsWith('(')) {
      const own = node.callFrame.url.startsWith('node:') ? node.callFrame.url : owner;
      let up = parent.get(node.id);
      while (up && !(up.callFrame.url === bundleUrl)) up = parent.get(up.id);
      owner = `${own} ← ${up ? ownerOfNode(up) : '(no bundle frame)'}`;
    }
    if (BY_CALLER) {
      // COLD_BY=caller: charged to the nearest Crosswalk file up the stack (its own work and what it calls).
      const isOurs = (o: string) => /^(src|functions|build)\//.test(o);
      let up: ProfileNode | undefined = node;
      while (up && !(up.callFrame.url === bundleUrl && isOurs(ownerOfNode(up)))) up = parent.get(up.id);
      if (up) owner = `${ownerOfNode(up)} (${up.callFrame.functionName || 'module'})`;
    }
    const bucket = phases.get(phase)!;
    // Each sample stands for the time until the next one.
    const next = profile.timeDeltas[i + 1] ?? delta;
    bucket.set(owner, (bucket.get(owner) ?? 0) + next / 1000);
  });
  return phases;
}

function formatPhase(name: string, owners: Map<string, number>, top: number): string {
  const total = [...owners.values()].reduce((a, b) => a + b, 0);
  const rows = [...owners.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([owner, ms]) => `      ${ms.toFixed(1).padStart(6)} ms  ${owner}`);
  return [`    ${name}: ${total.toFixed(1)} ms of samples`, ...rows].join('\n');
}

async function main(): Promise<void> {
  if (!process.env.COLD_SKIP_SYNTH) {
    console.log('cdk synth…');
    synthesize();
  }
  const sampleDatafile = readFileSync(join(repoRoot, 'events', 'sample-datafile.json'), 'utf8');
  const optimizely = await startLocalOptimizely({ datafiles: new Map([['local-sample', sampleDatafile]]) });
  const dynamo = await startDynamoDbLocal({});
  const work = mkdtempSync(join(tmpdir(), 'crosswalk-cold-'));
  try {
    await ensureTable(createDynamoDbClient({ endpoint: dynamo.endpoint }), TABLE);
    // As the bench's cold-start section (bench/run.ts).
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...localEngineEnv(TABLE, dynamo.endpoint),
      API_KEYS: '',
      SEGMENT_WEBHOOK_TOKEN: '',
      OPTIMIZELY_SDK_KEY: 'local-sample',
      OPTIMIZELY_DATAFILE: join(repoRoot, 'events', 'sample-datafile.json'),
      OPTIMIZELY_DATAFILE_URL_TEMPLATE: optimizely.datafileUrlTemplate,
      OPTIMIZELY_EVENT_ENDPOINT: optimizely.eventEndpoint,
      OPTIMIZELY_CMAB_PREDICTION_ENDPOINT: optimizely.predictionEndpointTemplate,
      ACCOUNT_BUCKETED_FLAGS: 'team_dashboard',
      ENABLE_OVERRIDES: 'false',
      USER_PROFILE_SERVICE: 'off',
      NODE_OPTIONS: '',
    };
    const functions = bundledFunctions().filter(
      (fn) => fn.name !== 'segment-backfill' && (!ONLY || ONLY.includes(fn.name)),
    );
    // The same-work floor's bundle: the DynamoDB client as the functions bundle it (same aliases).
    const sameWork = await bundleDynamoDbClientOnly();
    const targets: (BundledFunction & { script: string; success: RegExp })[] = functions.map((fn) => {
      const spec: FunctionSpec = functionSpecs[fn.name as keyof typeof functionSpecs];
      const event = readFileSync(join(repoRoot, spec.sampleEvent), 'utf8');
      return {
        ...fn,
        script: coldScript(pathToFileURL(fn.bundle).href, event, fn.name),
        success: spec.scheduleMinutes === undefined ? /"statusCode":2\d\d/ : /"complete":true/,
      };
    });
    if (!ONLY || ONLY.includes('same-work')) {
      targets.push({
        name: 'same-work floor (DynamoDB client + one GetItem)',
        logicalId: '',
        bundle: sameWork,
        script: withMarks(sameWorkScript(sameWork)),
        success: /"statusCode":200/,
      });
    }
    const baselines = BASELINE ? bundledFunctions(BASELINE) : [];
    for (const target of targets) {
      // COLD_BASELINE=<another cdk.out>: the same function from there, in the same rounds (A/B).
      const base = baselines.find((b) => b.name === target.name);
      const variants = [
        target,
        ...(base
          ? [
              {
                ...target,
                bundle: base.bundle,
                script: target.script.replace(
                  pathToFileURL(target.bundle).href,
                  pathToFileURL(base.bundle).href,
                ),
              },
            ]
          : []),
      ];
      const floors: number[] = [];
      const runs: Run[][] = variants.map(() => []);
      for (let i = 0; i < RUNS; i++) {
        floors.push((await runProcess(['-e', ''], env)).wall);
        for (const [v, variant] of variants.entries()) {
          const run = await runProcess(['--input-type=module', '-e', variant.script], env);
          if (!variant.success.test(run.stdout))
            throw new Error(`${variant.name} did not answer: ${run.stdout}`);
          runs[v]!.push(run);
        }
      }
      const floor = median(floors);
      const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
      for (const [v, variantRuns] of runs.entries()) {
        const m = (f: (r: Run) => number) => median(variantRuns.map(f));
        const wall = m((r) => r.wall);
        const boot = m((r) => r.marks!.boot);
        const imp = m((r) => r.marks!.imported - r.marks!.boot);
        const first = m((r) => r.marks!.answered - r.marks!.imported);
        const cpuImp = m((r) => r.marks!.cpu[1] - r.marks!.cpu[0]);
        const cpuFirst = m((r) => r.marks!.cpu[2] - r.marks!.cpu[1]);
        const cpuAll = m((r) => r.marks!.cpu[2]);
        console.log(
          `\n${target.name}${v === 0 ? '' : ' (baseline)'}: ${wall.toFixed(1)} ms ÷ bare node ${floor.toFixed(1)} ms = ${(wall / floor).toFixed(2)}` +
            `  (medians of ${RUNS}; load ${load}); CPU to the answer ${cpuAll.toFixed(1)} ms`,
        );
        console.log(
          `  node start-up to script ${boot.toFixed(1)} ms | import ${imp.toFixed(1)} ms (CPU ${cpuImp.toFixed(1)})` +
            ` | first request ${first.toFixed(1)} ms (CPU ${cpuFirst.toFixed(1)}) | rest (spawn, exit) ${(wall - boot - imp - first).toFixed(1)} ms`,
        );
      }
      if (process.env.COLD_PROFILE === '0') continue;
      // One profiled run, its samples split at the marks.
      const dir = mkdtempSync(join(work, 'prof-'));
      const profiled = await runProcess(
        [
          '--cpu-prof',
          '--cpu-prof-interval',
          '100',
          '--cpu-prof-dir',
          dir,
          '--input-type=module',
          '-e',
          target.script,
        ],
        env,
      );
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file || !profiled.marks) continue;
      const raw = readFileSync(join(dir, file), 'utf8');
      writeFileSync(join(repoRoot, `cold-${target.name.split(' ')[0]}.cpuprofile`), raw);
      const phases = attribute(JSON.parse(raw) as CpuProfile, target.bundle, profiled.marks);
      for (const [name, owners] of phases) if (name !== 'boot') console.log(formatPhase(name, owners, 14));
      const [atImport, atFirst] = profiled.marks.loaded;
      const modules = (list: string[]) =>
        list.filter((x) => x.startsWith('NativeModule')).map((x) => x.slice(13));
      console.log(`    built-ins loaded by the import (${atImport.length}): ${modules(atImport).join(', ')}`);
      console.log(`    … by the first request (${atFirst.length}): ${modules(atFirst).join(', ')}`);
    }
  } finally {
    await optimizely.close();
    await dynamo.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
