/**
 * Outbound HTTP for the Optimizely event API and datafile CDN: the small part of `fetch` Crosswalk
 * uses, on `node:http`/`node:https` with keep-alive agents. Not the global `fetch`: its first call
 * loads Node's bundled undici, about 60 ms of a cold start, while the AWS SDK has already loaded
 * `node:http`. The global `fetch` satisfies the same type, so tests may inject one.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { gunzip } from 'node:zlib';

export interface OutboundResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export interface OutboundRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Aborts the request whenever it fires, queued for a socket or not (a deadline). */
  signal?: AbortSignal;
  /**
   * Gives up (a `TimeoutError`) when the response is not complete this long after the request got
   * its socket: time spent waiting for a free socket of the agent does not count (`signal` bounds
   * that), so a request queued behind slow ones is not timed out before it was even sent.
   */
  timeoutMs?: number;
}

export type OutboundFetch = (url: string, init?: OutboundRequest) => Promise<OutboundResponse>;

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 32 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 32 });

function responseOf(message: IncomingMessage, body: Buffer): OutboundResponse {
  const status = message.statusCode ?? 0;
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: {
      get: (name) => {
        const value = message.headers[name.toLowerCase()];
        if (value === undefined) return null;
        return Array.isArray(value) ? value.join(', ') : value;
      },
    },
    text: async () => body.toString('utf8'),
  };
}

function decoded(message: IncomingMessage, raw: Buffer): Promise<Buffer> {
  if (message.headers['content-encoding'] !== 'gzip') return Promise.resolve(raw);
  return new Promise((resolve, reject) =>
    gunzip(raw, (error, out) => (error ? reject(error) : resolve(out))),
  );
}

/** One request; rejects on network errors and on `signal` abort, resolves with any HTTP status. */
export const outboundFetch: OutboundFetch = (url, init = {}) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') {
      reject(new Error(`Unsupported URL protocol ${target.protocol}`));
      return;
    }
    const body = init.body === undefined ? undefined : Buffer.from(init.body, 'utf8');
    const headers: Record<string, string | number> = { 'accept-encoding': 'gzip', ...init.headers };
    if (body) headers['content-length'] = body.length;
    const options = {
      method: init.method ?? 'GET',
      headers,
      ...(init.signal ? { signal: init.signal } : {}),
    };
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: unknown) => {
      clearTimeout(timer);
      reject(error);
    };
    const onResponse = (message: IncomingMessage) => {
      const chunks: Buffer[] = [];
      message.on('data', (chunk: Buffer) => chunks.push(chunk));
      message.on('aborted', () => fail(new Error('The response was aborted')));
      message.on('error', fail);
      message.on('end', () => {
        clearTimeout(timer);
        decoded(message, Buffer.concat(chunks)).then((out) => resolve(responseOf(message, out)), reject);
      });
    };
    const request = secure
      ? httpsRequest(target, { ...options, agent: httpsAgent }, onResponse)
      : httpRequest(target, { ...options, agent: httpAgent }, onResponse);
    request.on('error', fail);
    const { timeoutMs } = init;
    if (timeoutMs !== undefined) {
      request.once('socket', () => {
        timer = setTimeout(() => {
          const error = new Error(`no response within ${timeoutMs} ms`);
          error.name = 'TimeoutError';
          request.destroy(error);
        }, timeoutMs);
      });
    }
    request.end(body);
  });
