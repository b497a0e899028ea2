/**
 * Decide over HTTP against its floors, in one run under the same autocannon load (8 connections,
 * three interleaved rounds of 5 s per server): a plain node:http server deciding with the bare SDK
 * (bench/http-floor-server.ts) once with its events batched in memory (the issue's floor) and once
 * storing each decide's events with one `PutItem` before answering (the durable floor: what
 * Crosswalk's decide does since its events are stored before the answer), then `npm start` with the
 * deployed defaults (overrides and the user profile service off), then `npm start` with its own
 * defaults (both on). `http_decide_rps` is reported as a ratio of the durable floor, and of the
 * in-memory one; the defaults' figure as a ratio of the figure with both off.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { ensureTable, freePort } from '../scripts/local/dynamodb-local';
import { createDynamoDbClient } from '../src/platform/dynamodb/client';
import { type LoadResult, loadDecide, startServerProcess } from './http-load';
import type { Report } from './lib/report';
import { median } from './lib/stats';

const repoRoot = resolve(import.meta.dirname, '..');
const ROUNDS = 3;
const ROUND_SECONDS = 5;
const WARMUP_SECONDS = 3;

async function startFloor(
  port: number,
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/http-floor-server.ts'], {
    cwd: repoRoot,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const deadline = Date.now() + 30_000;
  while (!output.includes('Crosswalk is running')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`floor server failed: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    },
  };
}

export async function benchHttp(options: {
  env: Record<string, string>;
  bodies: string[];
  flagKey: string;
  apiKey: string;
  datafilePath: string;
  eventEndpoint: string;
  report: Report;
}): Promise<void> {
  const load = (url: string, seconds = ROUND_SECONDS) =>
    loadDecide({
      url: `${url}/v1/decide?keys=${options.flagKey}`,
      bodies: options.bodies,
      headers: { 'x-api-key': options.apiKey },
      connections: 8,
      durationSeconds: seconds,
    });
  const env = { ...process.env, ...options.env };
  // The durable floor's own table, of the outbox's shape (stream on), on the same engine.
  const durableTable = `${options.env.TABLE_NAME}-durable-floor`;
  const admin = createDynamoDbClient({ endpoint: options.env.DYNAMODB_ENDPOINT });
  await ensureTable(admin, durableTable, { stream: true });
  admin.destroy();
  const floorEnv = {
    ...env,
    FLOOR_DATAFILE: options.datafilePath,
    FLOOR_EVENT_ENDPOINT: options.eventEndpoint,
  };
  // All four up at once, loaded in turn for ROUNDS short rounds (floor, durable floor, deployed, defaults, floor…):
  // the machine's noise then falls on each alike; each figure is the median of its rounds.
  const servers = [
    await startFloor(await freePort(), floorEnv),
    await startFloor(await freePort(), { ...floorEnv, FLOOR_DURABLE_TABLE: durableTable }),
    await startServerProcess(await freePort(), env),
    await startServerProcess(await freePort(), {
      ...env,
      ENABLE_OVERRIDES: 'true',
      USER_PROFILE_SERVICE: 'dynamodb',
    }),
  ];
  const rounds: LoadResult[][] = servers.map(() => []);
  try {
    // A fresh server's first seconds go to loading and compiling (npm start runs TypeScript through
    // tsx): measured here at a twentieth of its later rate. Warmed first, as a running server is.
    for (const server of servers) await load(server.url, WARMUP_SECONDS);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, server] of servers.entries()) rounds[i]!.push(await load(server.url));
    }
  } finally {
    for (const server of servers) await server.stop();
  }
  const [floor, durableFloor, deployed, defaults] = rounds.map((results) => ({
    rps: median(results.map((r) => r.rps)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    requests: results.reduce((n, r) => n + r.requests, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
  })) as [LoadResult, LoadResult, LoadResult, LoadResult];
  const clean = (r: LoadResult) => r.errors === 0 && r.non2xx === 0;
  options.report.add('http_decide_rps', {
    value: deployed.rps,
    unit: 'req/s',
    floor: durableFloor.rps,
    target: `ratio ≥ 1 of the durable floor (events stored before the answer; the issue's 0.3 was of the in-memory floor, below); ${deployed.requests} requests, ${deployed.errors} errors, ${deployed.non2xx} non-2xx`,
    check: (x) => (x.ratio ?? 0) >= 1 && clean(deployed),
  });
  options.report.add('http_decide_rps_memory_floor', {
    value: deployed.rps,
    unit: 'req/s',
    floor: floor.rps,
    target: 'reported (floor: events batched in memory, sent after the answer; lost if the process dies)',
  });
  options.report.add('http_durable_floor_rps', {
    value: durableFloor.rps,
    unit: 'req/s',
    floor: floor.rps,
    target: `reported: the durable floor ÷ the in-memory one (its events written before each answer, on DynamoDB Local); ${durableFloor.errors + durableFloor.non2xx} failed`,
  });
  options.report.add('http_decide_p99_ms', {
    value: deployed.p99Ms,
    unit: 'ms',
    floor: durableFloor.p99Ms,
    target: 'reported (8 connections; floor: the durable floor)',
  });
  options.report.add('http_decide_defaults_rps', {
    value: defaults.rps,
    unit: 'req/s',
    floor: deployed.rps,
    target: 'ratio ≥ 0.67 (npm start defaults: overrides and profile service on; floor: both off)',
    check: (x) => (x.ratio ?? 0) >= 1 / 1.5 && clean(defaults),
  });
  options.report.add('http_decide_defaults_p99_ms', {
    value: defaults.p99Ms,
    unit: 'ms',
    floor: deployed.p99Ms,
    target: 'reported',
  });
}
