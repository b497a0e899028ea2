/**
 * Bundled in place of `@smithy/node-http-handler` in every function without S3 (an esbuild alias set
 * by the function construct, lib/constructs/crosswalk-function.ts): the HTTP/1.1 handler the DynamoDB
 * client sends its requests with, about 5 KB smaller per bundle. It keeps what the client and
 * Crosswalk's settings use (src/platform/dynamodb/client.ts): keep-alive agents (50 sockets, or
 * the agents or agent options given), the connection, request and socket timeouts with the same
 * errors (`TimeoutError`), `throwOnRequestTimeout`, the abort signal, the service's default socket
 * timeout and logger handed over by `updateHttpClientConfig`, and the response as the SDK reads it
 * (status, headers joined, the body as the response stream). Left out: HTTP/2 (`NodeHttp2Handler`),
 * the periodic "socket usage at capacity" warning, and the wait for `100 Continue` before a body
 * (only S3 uploads ask for it; the backfill, which has an S3 client, keeps the original). The test:
 * test/unit/infrastructure/bundle-substitutes.test.ts, against a local server and DynamoDB Local.
 */
import {
  type AgentOptions,
  Agent as HttpAgent,
  type Agent as HttpAgentType,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import {
  Agent as HttpsAgent,
  type AgentOptions as HttpsAgentOptions,
  request as httpsRequest,
} from 'node:https';
import { buildQueryString, HttpResponse } from '@smithy/core/protocols';
import type { HttpHandlerOptions, HttpRequest, Logger } from '@smithy/types';

export { streamCollector } from '@smithy/core/serde';

export const DEFAULT_REQUEST_TIMEOUT = 0;

export interface NodeHttpHandlerOptions {
  connectionTimeout?: number;
  requestTimeout?: number;
  socketTimeout?: number;
  throwOnRequestTimeout?: boolean;
  httpAgent?: HttpAgentType | AgentOptions;
  httpsAgent?: HttpsAgent | HttpsAgentOptions;
  logger?: Logger;
}

interface Settings extends Omit<NodeHttpHandlerOptions, 'httpAgent' | 'httpsAgent'> {
  httpAgent: HttpAgentType;
  httpsAgent: HttpsAgent;
  defaultSocketTimeout?: number;
}

/** Node's errors the original reports as timeouts. */
const TIMEOUT_CODES = ['ECONNRESET', 'EPIPE', 'ETIMEDOUT'];

const positive = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;

const timeoutError = (message: string, extra: object = {}): Error =>
  Object.assign(new Error(`@smithy/node-http-handler - ${message}`), { name: 'TimeoutError' }, extra);

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  const error = new Error(reason && !(reason instanceof Error) ? String(reason) : 'Request aborted');
  error.name = 'AbortError';
  if (reason instanceof Error) error.cause = reason;
  return error;
}

function settingsOf(
  options: (NodeHttpHandlerOptions & { defaultSocketTimeout?: number }) | undefined,
): Settings {
  const { httpAgent, httpsAgent, ...rest } = options ?? {};
  return {
    ...rest,
    defaultSocketTimeout: positive(options?.defaultSocketTimeout),
    httpAgent:
      httpAgent instanceof HttpAgent
        ? httpAgent
        : new HttpAgent({ keepAlive: true, maxSockets: 50, ...httpAgent }),
    httpsAgent:
      httpsAgent instanceof HttpsAgent
        ? httpsAgent
        : new HttpsAgent({ keepAlive: true, maxSockets: 50, ...httpsAgent }),
  };
}

function joinedHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

export class NodeHttpHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  private settings: Promise<Settings>;
  private resolved: Settings | undefined;

  static create(
    instanceOrOptions?:
      | NodeHttpHandler
      | NodeHttpHandlerOptions
      | (() => Promise<NodeHttpHandlerOptions | undefined>),
  ): NodeHttpHandler {
    if (typeof (instanceOrOptions as NodeHttpHandler | undefined)?.handle === 'function') {
      return instanceOrOptions as NodeHttpHandler;
    }
    return new NodeHttpHandler(instanceOrOptions as NodeHttpHandlerOptions);
  }

  constructor(options?: NodeHttpHandlerOptions | (() => Promise<NodeHttpHandlerOptions | undefined>)) {
    this.settings = (typeof options === 'function' ? options() : Promise.resolve(options)).then(settingsOf);
    // Unhandled here; the first request rejects with the provider's error.
    this.settings.catch(() => undefined);
  }

  destroy(): void {
    this.resolved?.httpAgent.destroy();
    this.resolved?.httpsAgent.destroy();
  }

  /** The client hands over its logger and the service's default socket timeout; a setting given wins. */
  updateHttpClientConfig(key: string | symbol, value: unknown): void {
    this.resolved = undefined;
    this.settings = this.settings.then((settings) => {
      if (key === Symbol.for('logger')) return { ...settings, logger: settings.logger ?? (value as Logger) };
      if (key === Symbol.for('@smithy/defaultSocketTimeout')) {
        return { ...settings, defaultSocketTimeout: settings.defaultSocketTimeout ?? (value as number) };
      }
      return { ...settings, [key]: value };
    });
  }

  httpHandlerConfigs(): Partial<Settings> {
    return this.resolved ?? {};
  }

  async handle(
    request: HttpRequest,
    { abortSignal, requestTimeout }: HttpHandlerOptions = {},
  ): Promise<{ response: HttpResponse }> {
    this.resolved ??= await this.settings;
    const settings = this.resolved;
    return new Promise((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      let settled = false;
      const settle = () => {
        settled = true;
        for (const timer of timers) clearTimeout(timer);
      };
      const fail = (error: Error) => {
        if (settled) return;
        settle();
        reject(error);
      };
      const signal = abortSignal as AbortSignal | undefined;
      if (signal?.aborted) {
        fail(abortError(signal));
        return;
      }

      const secure = request.protocol === 'https:';
      const query = request.query ? buildQueryString(request.query) : '';
      const { hostname, username, password } = request;
      const req = (secure ? httpsRequest : httpRequest)(
        {
          headers: request.headers,
          host: hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname,
          method: request.method,
          path: `${request.path}${query ? `?${query}` : ''}${request.fragment ? `#${request.fragment}` : ''}`,
          port: request.port,
          agent: secure ? settings.httpsAgent : settings.httpAgent,
          auth: username != null || password != null ? `${username ?? ''}:${password ?? ''}` : undefined,
        },
        (res) => {
          if (settled) return;
          settle();
          resolve({
            response: new HttpResponse({
              statusCode: res.statusCode || -1,
              reason: res.statusMessage,
              headers: joinedHeaders(res.headers),
              body: res,
            }),
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) =>
        fail(
          TIMEOUT_CODES.includes(error.code ?? '') ? Object.assign(error, { name: 'TimeoutError' }) : error,
        ),
      );

      if (signal) {
        const onAbort = () => {
          req.destroy();
          fail(abortError(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        req.once('close', () => signal.removeEventListener('abort', onAbort));
      }

      const { connectionTimeout } = settings;
      if (connectionTimeout) {
        const timer = setTimeout(() => {
          req.destroy();
          fail(
            timeoutError(
              `the request socket did not establish a connection with the server within the configured timeout of ${connectionTimeout} ms.`,
            ),
          );
        }, connectionTimeout);
        timers.push(timer);
        req.once('socket', (socket) => {
          if (socket.connecting) socket.once('connect', () => clearTimeout(timer));
          else clearTimeout(timer);
        });
      }

      const bound = requestTimeout ?? settings.requestTimeout;
      if (bound) {
        timers.push(
          setTimeout(() => {
            const throws = settings.throwOnRequestTimeout;
            const message = `[${throws ? 'ERROR' : 'WARN'}] a request has exceeded the configured ${bound} ms requestTimeout.`;
            if (throws) {
              const error = timeoutError(message, { code: 'ETIMEDOUT' });
              req.destroy(error);
              fail(error);
            } else {
              (settings.logger ?? console).warn?.(
                `@smithy/node-http-handler - ${message} Init client requestHandler with throwOnRequestTimeout=true to turn this into an error.`,
              );
            }
          }, bound),
        );
      }

      // Inactivity on the socket, once connected; the service's default unless one is configured.
      const configured = settings.socketTimeout !== undefined;
      const idle = positive(configured ? settings.socketTimeout : settings.defaultSocketTimeout);
      if (idle) {
        let response: IncomingMessage | undefined;
        req.once('response', (res: IncomingMessage) => {
          response = res;
        });
        const onTimeout = () => {
          if (response?.complete) {
            req.socket?.destroy();
            return;
          }
          const error = timeoutError(
            `the request socket timed out after ${idle} ms of inactivity (${configured ? 'configured by client requestHandler' : 'service default socket timeout'}).`,
          );
          response?.destroy(error);
          req.destroy();
          fail(error);
        };
        req.once('socket', (socket) => {
          const watch = () => {
            socket.setTimeout(idle, onTimeout);
            req.once('close', () => socket.removeListener('timeout', onTimeout));
          };
          if (socket.connecting) socket.once('connect', watch);
          else watch();
        });
      }

      const body: unknown = request.body;
      if (body && typeof (body as NodeJS.ReadableStream).pipe === 'function') {
        (body as NodeJS.ReadableStream).pipe(req);
      } else if (typeof body === 'string') {
        req.end(body);
      } else if (ArrayBuffer.isView(body)) {
        req.end(
          body.byteLength === 0 ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        );
      } else if (body) {
        req.end(Buffer.from(body as ArrayBuffer));
      } else {
        req.end();
      }
    });
  }
}
