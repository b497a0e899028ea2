/**
 * A handler module run as Lambda runs it, on loopback: bundled with esbuild the way the stack bundles
 * functions (ESM, node24, the `require` banner, the build/ substitutes of a function without S3, so
 * the bundled HTTP handler, retry and hash stand-ins are what these tests run), started in a child process under the JavaScript
 * runtime client (lambda-runtime-client.ts), against the fake Runtime and Extensions API
 * (fake-lambda-runtime.ts). Used by the Lambda-path tests and by the bench's flush figures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { bundleSubstitutes, ESM_REQUIRE_BANNER } from '../../lib/constructs/crosswalk-function';
import { FakeLambdaRuntime, type Invocation, type InvocationResult } from './fake-lambda-runtime';

const projectRoot = resolve(import.meta.dirname, '..', '..');

export interface LambdaEnvironment {
  runtime: FakeLambdaRuntime;
  /** Everything the child wrote on stdout and stderr. */
  output(): string;
  /** Invokes and waits for the end of the invocation; fails at once, with the output, if the child died. */
  invoke(event: unknown): Promise<{ invocation: Invocation; result: InvocationResult }>;
  /** Queues an invocation without waiting for anything (a test that kills the process mid-way). */
  dispatch(event: unknown): Invocation;
  /** Kills the child and stops the fake; safe to call on a half-started environment. */
  stop(): Promise<void>;
}

/** Bundles `entry` (relative to the repository root) and starts it under the runtime client. */
export async function startLambdaEnvironment(options: {
  entry: string;
  /** Variables of the function itself (TABLE_NAME…), on top of what Lambda sets. */
  environment?: Record<string, string>;
  timeoutMs?: number;
  /** An existing fake to run against (a test may register its own marks first). */
  runtime?: FakeLambdaRuntime;
}): Promise<LambdaEnvironment> {
  const runtime =
    options.runtime ?? (await FakeLambdaRuntime.start({ timeoutMs: options.timeoutMs ?? 10_000 }));
  const dir = mkdtempSync(join(tmpdir(), 'crosswalk-lambda-'));
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let output = '';
  const stop = async () => {
    child?.kill('SIGKILL');
    await exited;
    if (!options.runtime) await runtime.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const common = {
      bundle: true,
      format: 'esm' as const,
      platform: 'node' as const,
      target: 'node24',
      mainFields: ['module', 'main'],
      banner: { js: ESM_REQUIRE_BANNER },
      logLevel: 'silent' as const,
    };
    await build({
      ...common,
      absWorkingDir: projectRoot,
      alias: bundleSubstitutes({ root: projectRoot }),
      entryPoints: [resolve(projectRoot, options.entry)],
      outfile: join(dir, 'index.mjs'),
    });
    await build({
      ...common,
      stdin: {
        contents:
          "import { runLambdaRuntime } from './lambda-runtime-client.ts';\nawait runLambdaRuntime();\n",
        resolveDir: import.meta.dirname,
        loader: 'ts',
      },
      outfile: join(dir, 'runtime.mjs'),
    });
    // Only what a Lambda runtime process sees: no NODE_OPTIONS from jest, no credentials of ours.
    const spawned = spawn(process.execPath, [join(dir, 'runtime.mjs')], {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_LAMBDA_RUNTIME_API: runtime.address,
        LAMBDA_TASK_ROOT: dir,
        _HANDLER: 'index.handler',
        AWS_LAMBDA_FUNCTION_NAME: 'crosswalk-fake',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
        AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/crosswalk-fake',
        AWS_LAMBDA_LOG_STREAM_NAME: 'local',
        ...options.environment,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = spawned;
    exited = new Promise((done) => spawned.once('exit', done));
    spawned.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    spawned.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    runtime,
    output: () => output,
    dispatch: (event) => runtime.invoke(event),
    invoke: async (event) => {
      const invocation = runtime.invoke(event);
      const died = exited.then(() => {
        throw new Error(`the runtime process exited:\n${output}`);
      });
      const result = await Promise.race([invocation.response, died]);
      await Promise.race([invocation.ended, died]);
      return { invocation, result };
    },
    stop,
  };
}
