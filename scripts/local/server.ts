/**
 * The local HTTP server behind `npm start`: it serves every route of src/platform/routes.ts on loopback
 * by turning each request into an API Gateway HTTP API event and calling the same Lambda handler
 * module (`functions/<name>/lambda.ts`) that AWS would. Tests may hand it handlers they built from
 * their own dependencies instead; `npm start` adds a few local-only routes (a datafile CDN and an
 * event sink) that are not part of the deployed API.
 *
 * It plays Lambda's part for work a handler defers past its answer (src/platform/lambda/after-response.ts): the
 * response is written first and the deferred work runs after it, in this process. The server does
 * not hold each request until that work is done (one process stands for many Lambda environments,
 * and waiting on work shared by every request in flight cost two thirds of its throughput under
 * load); `idle()` waits for it, and `close()` drains it. `dropDeferredWork` simulates a process
 * killed after its answer.
 */

import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { LambdaHttpHandler } from '../../src/platform/http/http-handler';
import type { AfterResponse } from '../../src/platform/lambda/after-response';
import {
  type FunctionName,
  functionSpecs,
  functionTimeoutMs,
  type RouteSpec,
  routeKey,
  routes,
} from '../../src/platform/routes';
import { apiGatewayEvent } from './api-gateway-event';
import { dropDeferredWork } from './drop-deferred-work';
import { lambdaContext } from './lambda-context';

const repoRoot = resolve(import.meta.dirname, '..', '..');
/** Lambda's synchronous payload limit; API Gateway itself allows 10 MB. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** A function's Lambda entry module as loaded: its handler, and its after-response if it defers work. */
export interface LoadedFunction<H = LambdaHttpHandler> {
  handler: H;
  afterResponse?: AfterResponse;
}

/** Imports a function's Lambda entry module once, as a Lambda container would. */
export async function importFunction<H = LambdaHttpHandler>(name: FunctionName): Promise<LoadedFunction<H>> {
  const entry = pathToFileURL(resolve(repoRoot, functionSpecs[name].entry)).href;
  const module = (await import(entry)) as { handler: H; afterResponse?: AfterResponse };
  return module.afterResponse
    ? { handler: module.handler, afterResponse: module.afterResponse }
    : { handler: module.handler };
}

export async function importHandler(name: FunctionName): Promise<LambdaHttpHandler> {
  return (await importFunction(name)).handler;
}

/** Functions served over HTTP (scheduled ones, such as redelivery, have no route). */
const httpFunctions = [...new Set(routes.map((route) => route.function))];

interface CompiledRoute {
  route: RouteSpec;
  pattern: RegExp;
  params: string[];
}

function compile(path: string): { pattern: RegExp; params: string[] } {
  const params: string[] = [];
  const source = path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    params.push(name);
    return '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}$`), params };
}

const compiled: CompiledRoute[] = routes.map((route) => ({ route, ...compile(route.path) }));

/**
 * The route of a request, with its path parameters decoded once, as HTTP APIs deliver them
 * (payload 2.0 `pathParameters` are already URL-decoded).
 */
export function matchRoute(
  method: string,
  path: string,
): { route: RouteSpec; pathParameters: Record<string, string> } | undefined {
  for (const candidate of compiled) {
    if (candidate.route.method !== method.toUpperCase()) continue;
    const match = candidate.pattern.exec(path);
    if (!match) continue;
    const pathParameters: Record<string, string> = {};
    candidate.params.forEach((name, i) => {
      const raw = match[i + 1] ?? '';
      try {
        pathParameters[name] = decodeURIComponent(raw);
      } catch {
        pathParameters[name] = raw;
      }
    });
    return { route: candidate.route, pathParameters };
  }
  return undefined;
}

/** A local-only route (not deployed): answers from the raw request. */
export interface LocalRoute {
  method: 'GET' | 'POST';
  path: RegExp;
  handle(request: {
    url: URL;
    body: string;
    match: RegExpExecArray;
    headers: IncomingHttpHeaders;
  }): Promise<LocalAnswer> | LocalAnswer;
}

export interface LocalAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

/** Writes a Lambda result the way API Gateway maps payload 2.0 responses. */
function writeResult(res: ServerResponse, result: APIGatewayProxyStructuredResultV2 | undefined): void {
  if (result === undefined || typeof result !== 'object' || !('statusCode' in result)) {
    send(res, 200, typeof result === 'string' ? result : JSON.stringify(result ?? null));
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  res.writeHead(result.statusCode ?? 200, headers);
  const body = result.body ?? '';
  res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

export interface LocalServerOptions {
  port: number;
  host?: string;
  /** Handlers to use instead of importing the Lambda entry modules (tests build their own). */
  handlers?: Partial<Record<FunctionName, LambdaHttpHandler>>;
  /** The after-responses of those handlers, drained after each answer. */
  afterResponses?: Partial<Record<FunctionName, AfterResponse>>;
  /** Simulates a process killed right after answering: deferred work is dropped, never run. */
  dropDeferredWork?: boolean;
  localRoutes?: readonly LocalRoute[];
  /**
   * Work outside the requests that `idle()` also waits for: the relay's local stream trigger
   * (scripts/local/outbox-stream.ts), which delivers the events requests stored.
   */
  background?: readonly { drain(): Promise<void> }[];
  /**
   * Start closed: every API route answers 503 with `Retry-After` until `open()` is called (`npm start`
   * listens before the functions' environment exists; a request in that window must not load a
   * handler). Local routes are served either way. Default: open at once.
   */
  startClosed?: boolean;
}

/**
 * `GET /local/memory`: this process's memory (`process.memoryUsage()`), after a full garbage
 * collection when the process runs with `--expose-gc` (the soak starts it so): what a soak compares
 * over time, free of the collector's sawtooth. Local only, like the Optimizely stand-ins.
 */
export const localMemoryRoute: LocalRoute = {
  method: 'GET',
  path: /^\/local\/memory$/,
  handle: () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...process.memoryUsage(), collected: gc !== undefined }),
    };
  },
};

/** What a route answers while the server is starting: a quick, retryable 503. */
const STARTING = JSON.stringify({ message: 'Service Unavailable: Crosswalk is starting; retry shortly' });
const RETRY_AFTER_SECONDS = '1';

export interface LocalServer {
  url: string;
  server: Server;
  /** Loads every function's handler now, so a handler that cannot start fails here, not on a request. */
  preload(): Promise<void>;
  /** Starts serving the API routes of a server started with `startClosed`. */
  open(): void;
  /**
   * Resolves when no request is in progress, its deferred work included, and the background work
   * (the relay) has handled what they stored (tests read the event sink then).
   */
  idle(): Promise<void>;
  /** Stops listening, then waits for deferred work still running. */
  close(): Promise<void>;
}

/** Listens first (so a taken port fails before anything else starts), loads handlers on first use. */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const host = options.host ?? '127.0.0.1';
  const loaded = new Map<FunctionName, Promise<LoadedFunction>>();
  const afterResponses = new Set<AfterResponse>();
  const functionFor = (name: FunctionName): Promise<LoadedFunction> => {
    let fn = loaded.get(name);
    if (!fn) {
      const given = options.handlers?.[name];
      const givenAfterResponse = options.afterResponses?.[name];
      fn = (
        given
          ? Promise.resolve<LoadedFunction>(
              givenAfterResponse ? { handler: given, afterResponse: givenAfterResponse } : { handler: given },
            )
          : importFunction(name)
      ).then((f) => {
        if (f.afterResponse) {
          afterResponses.add(f.afterResponse);
          if (options.dropDeferredWork) dropDeferredWork(f.afterResponse);
        }
        return f;
      });
      // A module that failed to load is not kept: the next request (or preload) tries again.
      fn.catch(() => loaded.delete(name));
      loaded.set(name, fn);
    }
    return fn;
  };
  let open = !options.startClosed;
  let inProgress = 0;
  let waiters: (() => void)[] = [];
  const settle = () => {
    if (--inProgress > 0) return;
    const ready = waiters;
    waiters = [];
    for (const wake of ready) wake();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    if (body === undefined) {
      send(res, 413, JSON.stringify({ message: 'Request Entity Too Large' }));
      return;
    }
    for (const local of options.localRoutes ?? []) {
      const match = local.method === method ? local.path.exec(url.pathname) : null;
      if (!match) continue;
      const answer = await local.handle({ url, body, match, headers: req.headers });
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
      return;
    }
    const found = matchRoute(method, url.pathname);
    if (!found) {
      send(res, 404, JSON.stringify({ message: 'Not Found' }));
      return;
    }
    if (!open) {
      send(res, 503, STARTING, { 'retry-after': RETRY_AFTER_SECONDS });
      return;
    }
    const event = apiGatewayEvent(
      {
        method,
        url: req.url ?? '/',
        headers: req.headers,
        body,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      },
      routeKey(found.route),
      found.pathParameters,
    );
    const name = found.route.function;
    const fn = await functionFor(name);
    // The function's own timeout, as deployed: its outbound calls give up in time for it.
    writeResult(res, await fn.handler(event, lambdaContext(name, functionTimeoutMs(name))));
  };

  const server = createServer((req, res) => {
    inProgress++;
    handle(req, res)
      .catch((error: unknown) => {
        // A handler that throws past its own error mapping would make Lambda answer 502.
        console.error(JSON.stringify({ level: 'error', message: 'handler crashed', error: String(error) }));
        if (!res.headersSent) send(res, 502, JSON.stringify({ message: 'Internal Server Error' }));
        else res.end();
      })
      .finally(settle);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${host}:${actualPort}`,
    server,
    preload: async () => {
      await Promise.all(httpFunctions.map(functionFor));
    },
    open: () => {
      open = true;
    },
    idle: async () => {
      // Requests in flight, then the work they deferred past their answers, until both are done.
      for (;;) {
        if (inProgress > 0) await new Promise<void>((wake) => waiters.push(wake));
        await Promise.all([...afterResponses].map((a) => a.drain()));
        if (inProgress > 0) continue;
        await Promise.all((options.background ?? []).map((b) => b.drain()));
        if (inProgress === 0) return;
      }
    },
    close: async () => {
      await new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      });
      // Events being flushed are not dropped by a Ctrl-C.
      await Promise.all([...afterResponses].map((a) => a.drain()));
    },
  };
}
