/**
 * Decide over HTTP against its floor, in one run under the same autocannon load: a plain node:http
 * server deciding with the bare SDK (bench/http-floor-server.ts), then `npm start` with the deployed
 * defaults (overrides and the user profile service off), then `npm start` with its own defaults (both
 * on). `http_decide_rps` is reported as a ratio of the floor; the defaults' figure as a ratio of the
 * figure with both off.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { freePort } from '../scripts/local/dynamodb-local';
import { type LoadResult, loadDecide, startServerProcess } from './http-load';
import type { Report } from './lib/report';

const repoRoot = resolve(import.meta.dirname, '..');

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
  const load = (url: string) =>
    loadDecide({
      url: `${url}/v1/decide?keys=${options.flagKey}`,
      bodies: options.bodies,
      headers: { 'x-api-key': options.apiKey },
      connections: 8,
      durationSeconds: 10,
    });
  const env = { ...process.env, ...options.env };
  const floorServer = await startFloor(await freePort(), {
    ...env,
    FLOOR_DATAFILE: options.datafilePath,
    FLOOR_EVENT_ENDPOINT: options.eventEndpoint,
  });
  let floor: LoadResult;
  try {
    floor = await load(floorServer.url);
  } finally {
    await floorServer.stop();
  }
  const run = async (extra: Record<string, string>) => {
    const server = await startServerProcess(await freePort(), { ...env, ...extra });
    try {
      return await load(server.url);
    } finally {
      await server.stop();
    }
  };
  const deployed = await run({});
  const defaults = await run({ ENABLE_OVERRIDES: 'true', USER_PROFILE_SERVICE: 'dynamodb' });
  const clean = (r: LoadResult) => r.errors === 0 && r.non2xx === 0;
  options.report.add('http_decide_rps', {
    value: deployed.rps,
    unit: 'req/s',
    floor: floor.rps,
    target: `ratio ≥ 0.3; ${deployed.requests} requests, ${deployed.errors} errors, ${deployed.non2xx} non-2xx`,
    check: (x) => (x.ratio ?? 0) >= 0.3 && clean(deployed),
  });
  options.report.add('http_decide_p99_ms', {
    value: deployed.p99Ms,
    unit: 'ms',
    floor: floor.p99Ms,
    target: 'reported (8 connections; floor: the plain node:http server)',
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
