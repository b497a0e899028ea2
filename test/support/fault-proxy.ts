/**
 * A fault-injecting TCP proxy for tests: put it between the functions and a dependency (DynamoDB
 * Local, the loopback Optimizely CDN and event API) and switch what the network does, mid-run:
 *
 * - `pass`: bytes flow untouched;
 * - `latency`: every chunk the client sends reaches the dependency `ms` later (a slow network or a
 *   slow server: each request answers that much later);
 * - `reset`: new connections and open ones are reset (TCP RST), as a crashed peer or a load
 *   balancer dropping connections does;
 * - `blackhole`: connections are accepted and whatever is sent is swallowed; nothing ever answers
 *   (a partition, a hung server): only the client's own timeouts end a request;
 * - `http-error`: every HTTP request is answered by the proxy itself with a fixed status and body,
 *   for faults the local dependency never produces (DynamoDB's throttling errors, see
 *   `dynamoDbError`).
 *
 * A switch applies to open connections too: to `reset` or `http-error` resets them, to `blackhole`
 * silences them for good (requests in flight on them never answer), and leaving `http-error`
 * resets the connections it was answering. Loopback only.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode =
  | { kind: 'pass' }
  | { kind: 'latency'; ms: number }
  | { kind: 'reset' }
  | { kind: 'blackhole' }
  | { kind: 'http-error'; status: number; headers: Record<string, string>; body: string };

export interface FaultProxyStats {
  connections: number;
  /** Connections the proxy reset (reset mode, mode switches, a dependency that refused). */
  resets: number;
  /** HTTP requests answered by the proxy in `http-error` mode. */
  answered: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly mode: ProxyMode;
  readonly stats: FaultProxyStats;
  set(mode: ProxyMode): void;
  close(): Promise<void>;
}

export const PASS: ProxyMode = { kind: 'pass' };

/**
 * DynamoDB's answer to a throttled request, as its JSON protocol writes it: HTTP 400 with the
 * exception's `__type` (ThrottlingException, ProvisionedThroughputExceededException), which the AWS
 * SDK turns into that exception, retryable as throttling.
 */
export function dynamoDbError(
  type: 'ThrottlingException' | 'ProvisionedThroughputExceededException',
  message = type === 'ThrottlingException'
    ? 'Rate of requests exceeds the allowed throughput.'
    : 'The level of configured provisioned throughput for the table was exceeded.',
): ProxyMode {
  return {
    kind: 'http-error',
    status: 400,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault-proxy' },
    body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }),
  };
}

interface Link {
  client: Socket;
  /** How the connection is handled; fixed when it opens. */
  kind: 'pipe' | 'http-error' | 'blackhole';
  upstream?: Socket;
  /** Swallowing everything: a blackholed connection stays silent even after the mode changes. */
  silent: boolean;
}

/** Answers every complete HTTP request in `buffer` with `mode`; returns the unconsumed rest. */
function answerRequests(
  client: Socket,
  buffer: Buffer,
  mode: Extract<ProxyMode, { kind: 'http-error' }>,
  stats: FaultProxyStats,
): Buffer {
  let rest = buffer;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return rest;
    const head = rest.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (rest.length < end + 4 + length) return rest;
    rest = rest.subarray(end + 4 + length);
    const body = Buffer.from(mode.body, 'utf8');
    const headers = { ...mode.headers, 'content-length': String(body.length), connection: 'keep-alive' };
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    client.write(`HTTP/1.1 ${mode.status} Fault\r\n${lines.join('')}\r\n`);
    client.write(body);
    stats.answered++;
  }
}

/** A proxy on a free loopback port forwarding to `target` (a URL or a port on 127.0.0.1). */
export async function startFaultProxy(
  target: string | number,
  initial: ProxyMode = PASS,
): Promise<FaultProxy> {
  const { hostname, port: targetPort } =
    typeof target === 'number' ? { hostname: '127.0.0.1', port: String(target) } : new URL(target);
  let mode: ProxyMode = initial;
  const stats: FaultProxyStats = { connections: 0, resets: 0, answered: 0 };
  const links = new Set<Link>();

  const reset = (link: Link) => {
    if (!link.client.destroyed) {
      link.client.resetAndDestroy();
      stats.resets++;
    }
    link.upstream?.destroy();
    links.delete(link);
  };

  const server: Server = createServer((client) => {
    stats.connections++;
    const current = mode;
    const link: Link = {
      client,
      kind: current.kind === 'http-error' || current.kind === 'blackhole' ? current.kind : 'pipe',
      silent: false,
    };
    links.add(link);
    client.on('error', () => undefined);
    client.on('close', () => {
      link.upstream?.destroy();
      links.delete(link);
    });
    if (current.kind === 'reset') {
      reset(link);
      return;
    }
    if (current.kind === 'blackhole') {
      link.silent = true;
      client.on('data', () => undefined);
      return;
    }
    if (current.kind === 'http-error') {
      let pending: Buffer = Buffer.alloc(0);
      client.on('data', (chunk: Buffer) => {
        pending = answerRequests(client, Buffer.concat([pending, chunk]), current, stats);
      });
      return;
    }
    const upstream = connect({ host: hostname, port: Number(targetPort) });
    link.upstream = upstream;
    upstream.on('error', () => reset(link));
    upstream.on('close', () => {
      if (!link.silent) client.end();
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!link.silent) client.write(chunk);
    });
    // Chunks reach the dependency in order, each no sooner than the latency in force when it
    // arrived: a chunk that came during a latency phase holds back the ones after it.
    const queue: { chunk: Buffer; at: number }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = () => {
      timer = undefined;
      while (queue.length > 0 && queue[0]!.at <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (!link.silent && !upstream.destroyed) upstream.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, queue[0]!.at - Date.now());
    };
    client.on('data', (chunk: Buffer) => {
      if (link.silent) return;
      const now = mode;
      queue.push({ chunk, at: Date.now() + (now.kind === 'latency' ? now.ms : 0) });
      if (timer === undefined) pump();
    });
    client.on('close', () => clearTimeout(timer));
    client.on('end', () => upstream.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get mode() {
      return mode;
    },
    stats,
    set(next) {
      mode = next;
      for (const link of [...links]) {
        // A silenced connection stays silent: its requests hang until the client gives up.
        if (link.silent) continue;
        if (next.kind === 'blackhole') link.silent = true;
        else if (next.kind === 'reset' || next.kind === 'http-error' || link.kind === 'http-error')
          reset(link);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const link of [...links]) {
          link.client.destroy();
          link.upstream?.destroy();
        }
        links.clear();
        server.close(() => resolve());
      }),
  };
}
