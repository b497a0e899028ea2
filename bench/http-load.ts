/**
 * Decide through `npm start`'s local server (a separate process, as a user runs it) under a bounded
 * loopback load from autocannon: fixed connections and duration.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
// @ts-expect-error autocannon ships no types; the few fields used are typed below.
import autocannon from 'autocannon';

export interface LoadResult {
  rps: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  requests: number;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

const repoRoot = resolve(import.meta.dirname, '..');

export interface ServerProcess {
  url: string;
  /** The server's own process (tsx's loader in-process, no wrapper): what its memory is read from. */
  pid: number;
  /** Everything it printed so far (its start-up lines; kept short after that). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * `npm start` as a separate process on loopback `port`, with `args` (e.g. `--in-memory`) and Node
 * options `nodeArgs` (e.g. `--expose-gc`).
 */
export async function startServerProcess(
  port: number,
  env: NodeJS.ProcessEnv,
  args: readonly string[] = [],
  nodeArgs: readonly string[] = [],
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', 'scripts/start.ts', ...args],
    {
      cwd: repoRoot,
      env: { ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  // Its start-up lines are kept; later ones (a line per event batch) are read and dropped.
  const keep = (d: Buffer) => {
    if (output.length < 64 * 1024) output += d.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const deadline = Date.now() + 60_000;
  while (!output.includes('Crosswalk is running')) {
    if (child.exitCode !== null) throw new Error(`npm start exited: ${output}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    },
  };
}

export async function loadDecide(options: {
  url: string;
  bodies: string[];
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
}): Promise<LoadResult> {
  let next = 0;
  const result = (await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => {
          req.body = options.bodies[next++ % options.bodies.length];
          return req;
        },
      },
    ],
  })) as AutocannonResult;
  return {
    rps: result.requests.average,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}
