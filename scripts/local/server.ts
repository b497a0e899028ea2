/**
 * The local HTTP server behind `npm start`: it serves every route of lib/routes.ts on loopback by
 * turning each request into an API Gateway HTTP API event and calling the same Lambda handler.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type FunctionName, functionSpecs, type RouteSpec, routes } from '../../lib/routes';
import { apiGatewayEvent } from './api-gateway-event';
import { lambdaContext } from './lambda-context';

type LambdaHttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2 | string | object | undefined>;

const repoRoot = resolve(import.meta.dirname, '..', '..');
/** Lambda's synchronous payload limit; API Gateway itself allows 10 MB. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

const handlers = new Map<FunctionName, Promise<LambdaHttpHandler>>();

/** Imports a function's handler once, as a Lambda container would. */
export function loadHandler(name: FunctionName): Promise<LambdaHttpHandler> {
  let loaded = handlers.get(name);
  if (!loaded) {
    const entry = pathToFileURL(resolve(repoRoot, functionSpecs[name].entry)).href;
    loaded = import(entry).then((module: { handler: LambdaHttpHandler }) => module.handler);
    handlers.set(name, loaded);
  }
  return loaded;
}

interface CompiledRoute {
  route: RouteSpec;
  pattern: RegExp;
  params: string[];
}

const compiled: CompiledRoute[] = routes.map((route) => {
  const params: string[] = [];
  const source = route.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    params.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), params };
});

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
      pathParameters[name] = decodeURIComponent(match[i + 1] ?? '');
    });
    return { route: candidate.route, pathParameters };
  }
  return undefined;
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

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const path = url.split('?')[0] ?? '/';
  const match = matchRoute(req.method ?? 'GET', path);
  if (!match) {
    send(res, 404, JSON.stringify({ message: 'Not Found' }));
    return;
  }
  const body = await readBody(req);
  if (body === undefined) {
    send(res, 413, JSON.stringify({ message: 'Request Entity Too Large' }));
    return;
  }
  const routeKey = `${match.route.method} ${match.route.path}`;
  const event = apiGatewayEvent(
    {
      method: req.method ?? 'GET',
      url,
      headers: req.headers,
      body,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    },
    routeKey,
    match.pathParameters,
  );
  const handler = await loadHandler(match.route.function);
  const result = await handler(event, lambdaContext(match.route.function));
  writeResult(res, result);
}

/** Writes a Lambda result the way API Gateway maps payload 2.0 responses. */
function writeResult(
  res: ServerResponse,
  result: APIGatewayProxyStructuredResultV2 | string | object | undefined,
): void {
  if (result === undefined || typeof result === 'string' || !('statusCode' in result)) {
    send(res, 200, typeof result === 'string' ? result : JSON.stringify(result ?? null));
    return;
  }
  const structured = result as APIGatewayProxyStructuredResultV2;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(structured.headers ?? {})) headers[k] = String(v);
  if (structured.cookies?.length) headers['set-cookie'] = structured.cookies;
  res.writeHead(structured.statusCode ?? 200, headers);
  const body = structured.body ?? '';
  res.end(structured.isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

export interface LocalServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startLocalServer(port: number, host = '127.0.0.1'): Promise<LocalServer> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A handler that throws past its own error mapping would make Lambda answer 502.
      console.error(JSON.stringify({ level: 'error', message: 'handler crashed', error: String(error) }));
      if (!res.headersSent) send(res, 502, JSON.stringify({ message: 'Internal Server Error' }));
      else res.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolveListen());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host}:${actualPort}`,
    server,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
