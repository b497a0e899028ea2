/**
 * A small Lambda runtime client, in JavaScript only: what runs a handler module inside a Lambda
 * environment, reduced to the Runtime API (2018-06-01) calls every runtime makes. The Lambda-path
 * tests and the bench bundle it (esbuild) and run it in a child process against the loopback fake
 * (fake-lambda-runtime.ts), with the same environment Lambda gives a Node.js runtime.
 *
 * Why not AWS's own client (aws-lambda-ric): version 4 ships no prebuilt native client and compiles
 * curl and aws-lambda-cpp when installed, which takes `npm ci` from about 40 s to about 5 minutes on
 * every CI run. Its protocol is small and documented, and this follows it:
 *
 * - init: import `$LAMBDA_TASK_ROOT/<module>` named by `_HANDLER` (`index.handler`), including its
 *   top-level await (where an internal extension registers); a failure is POSTed to `init/error`;
 * - then forever: GET `invocation/next` (it blocks until there is an invocation; init ends with the
 *   first one), build the context from its headers (request id, deadline, function ARN, trace id →
 *   `_X_AMZN_TRACE_ID`), await the handler, POST `invocation/<id>/response` with its JSON result,
 *   or `invocation/<id>/error` with `{errorType, errorMessage, trace}` and the
 *   `Lambda-Runtime-Function-Error-Type` header when it throws; and only then ask for the next one.
 */
import { existsSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { callRuntimeApi, type RuntimeApiAnswer } from '../../src/platform/lambda/runtime-api';

type Handler = (event: unknown, context: Record<string, unknown>) => Promise<unknown>;

const RUNTIME = '/2018-06-01/runtime';
// One keep-alive connection, as runtime clients hold one to the Runtime API.
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function call(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<RuntimeApiAnswer> {
  const runtimeApi = process.env.AWS_LAMBDA_RUNTIME_API ?? '';
  return callRuntimeApi({ runtimeApi, method, path, headers, body, agent });
}

function errorPayload(error: unknown): { type: string; body: string } {
  const err = error instanceof Error ? error : new Error(String(error));
  return {
    type: err.name || 'Error',
    body: JSON.stringify({
      errorType: err.name || 'Error',
      errorMessage: err.message,
      trace: (err.stack ?? '').split('\n'),
    }),
  };
}

async function loadHandler(): Promise<Handler> {
  const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
  const spec = process.env._HANDLER ?? 'index.handler';
  const dot = spec.lastIndexOf('.');
  const moduleName = spec.slice(0, dot);
  const exportName = spec.slice(dot + 1);
  const file = ['.mjs', '.js', '.cjs'].map((ext) => join(taskRoot, `${moduleName}${ext}`)).find(existsSync);
  if (!file)
    throw Object.assign(new Error(`Cannot find module ${moduleName}`), { name: 'Runtime.ImportModuleError' });
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = module[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${spec} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  }
  return handler as Handler;
}

export async function runLambdaRuntime(): Promise<never> {
  let handler: Handler;
  try {
    handler = await loadHandler();
  } catch (error) {
    const { type, body } = errorPayload(error);
    await call('POST', `${RUNTIME}/init/error`, body, { 'Lambda-Runtime-Function-Error-Type': type });
    process.exit(1);
  }
  for (;;) {
    const next = await call('GET', `${RUNTIME}/invocation/next`);
    if (next.status !== 200) throw new Error(`invocation/next answered ${next.status}: ${next.body}`);
    const requestId = String(next.headers['lambda-runtime-aws-request-id']);
    const deadline = Number(next.headers['lambda-runtime-deadline-ms']);
    const traceId = next.headers['lambda-runtime-trace-id'];
    if (typeof traceId === 'string') process.env._X_AMZN_TRACE_ID = traceId;
    else delete process.env._X_AMZN_TRACE_ID;
    const context = {
      awsRequestId: requestId,
      invokedFunctionArn: String(next.headers['lambda-runtime-invoked-function-arn'] ?? ''),
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? '',
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128',
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? '',
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
      callbackWaitsForEmptyEventLoop: false,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    try {
      const result = await handler(JSON.parse(next.body), context);
      await call(
        'POST',
        `${RUNTIME}/invocation/${encodeURIComponent(requestId)}/response`,
        JSON.stringify(result ?? null),
      );
    } catch (error) {
      const { type, body } = errorPayload(error);
      await call('POST', `${RUNTIME}/invocation/${encodeURIComponent(requestId)}/error`, body, {
        'Lambda-Runtime-Function-Error-Type': type,
      });
    }
  }
}
