/**
 * A loopback stand-in for Lambda's Runtime API (2018-06-01) and Extensions API (2020-01-01): enough
 * to drive a real runtime client (aws-lambda-ric) and in-process extensions through init and
 * invocations, recording a timeline of every call. It shows the protocol, not AWS's timing.
 *
 * Modelled on the Extensions API docs: init ends at the runtime's first invocation/next, and
 * registering after that is refused (403 here; the docs name no code). An invocation is dispatched
 * once the runtime and every registered extension wait on their next call; it ends ('invocation-ended')
 * once the runtime has posted its response or error and asked for its next invocation, and every
 * extension has asked for its next event.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface TimelineEntry {
  /** Milliseconds since the fake started; entries are in the order they happened here. */
  at: number;
  kind: string;
  /** For runtime-next and ext-next: the invocation this call ends, if any. */
  requestId?: string;
  detail?: string;
}

export interface InvocationResult {
  requestId: string;
  outcome: 'response' | 'error';
  body: string;
  errorType?: string;
}

export interface Invocation {
  requestId: string;
  /** Settles when the runtime posts the response or error (when Lambda would answer the caller). */
  response: Promise<InvocationResult>;
  /** Settles when the invocation has ended. */
  ended: Promise<void>;
}

interface Active {
  requestId: string;
  event: unknown;
  posted: boolean;
  runtimeNext: boolean;
  extensionsNext: Set<string>;
  respond: (result: InvocationResult) => void;
  end: () => void;
  fail: (error: Error) => void;
}

const FUNCTION_NAME = 'crosswalk-fake';
const RUNTIME = '/2018-06-01/runtime';
const EXTENSION = '/2020-01-01/extension';

export class FakeLambdaRuntime {
  readonly timeline: TimelineEntry[] = [];
  private readonly origin = performance.now();
  private readonly extensions = new Map<string, { name: string; waiting?: ServerResponse }>();
  private readonly queue: Active[] = [];
  private runtimeWaiting: ServerResponse | undefined;
  private current: Active | undefined;
  private initDone = false;

  private constructor(
    private readonly server: Server,
    private readonly timeoutMs: number,
  ) {}

  static async start(options: { timeoutMs?: number } = {}): Promise<FakeLambdaRuntime> {
    const server = createServer();
    const fake = new FakeLambdaRuntime(server, options.timeoutMs ?? 10_000);
    server.on('request', (req, res) => {
      fake.route(req, res).catch((error: unknown) => reply(res, 500, { errorMessage: String(error) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** host:port, the value of AWS_LAMBDA_RUNTIME_API. */
  get address(): string {
    const { port } = this.server.address() as { port: number };
    return `127.0.0.1:${port}`;
  }

  /** Adds an entry from outside the fake (e.g. a test's event endpoint) to the same timeline. */
  mark(kind: string, fields: { requestId?: string; detail?: string } = {}): void {
    this.timeline.push({ at: Math.round((performance.now() - this.origin) * 10) / 10, kind, ...fields });
  }

  /** Index of the first entry of `kind` (for `requestId`, when given); -1 when absent. */
  indexOf(kind: string, requestId?: string): number {
    return this.timeline.findIndex(
      (e) => e.kind === kind && (requestId === undefined || e.requestId === requestId),
    );
  }

  format(): string {
    return this.timeline
      .map((e) =>
        [`${e.at.toFixed(1).padStart(8)} ms`, e.kind.padEnd(18), e.requestId ?? '', e.detail ?? '']
          .join('  ')
          .trimEnd(),
      )
      .join('\n');
  }

  invoke(event: unknown): Invocation {
    const requestId = randomUUID();
    let respond!: (result: InvocationResult) => void;
    let end!: () => void;
    let failResponse!: (error: Error) => void;
    let failEnd!: (error: Error) => void;
    const response = new Promise<InvocationResult>((resolve, reject) => {
      respond = resolve;
      failResponse = reject;
    });
    const ended = new Promise<void>((resolve, reject) => {
      end = resolve;
      failEnd = reject;
    });
    // Marked handled: a test awaiting only one of the two must not see the other as unhandled.
    response.catch(() => undefined);
    ended.catch(() => undefined);
    const fail = (error: Error) => {
      failResponse(error);
      failEnd(error);
    };
    this.queue.push({
      requestId,
      event,
      posted: false,
      runtimeNext: false,
      extensionsNext: new Set(),
      respond,
      end,
      fail,
    });
    this.dispatch();
    return { requestId, response, ended };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = req.url ?? '';
    const posted = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
    if (req.method === 'GET' && path === `${RUNTIME}/invocation/next`) return this.runtimeNext(res);
    if (req.method === 'POST' && posted) {
      return this.posted(res, decodeURIComponent(posted[1]!), posted[2] as 'response' | 'error', body, req);
    }
    if (req.method === 'POST' && path === `${RUNTIME}/init/error`) {
      this.mark('init-error', { detail: body.slice(0, 200) });
      for (const waiting of [this.current, ...this.queue]) waiting?.fail(new Error(`init error: ${body}`));
      return reply(res, 202, {});
    }
    if (req.method === 'POST' && path === `${EXTENSION}/register`) return this.register(req, res, body);
    if (req.method === 'GET' && path === `${EXTENSION}/event/next`) return this.extensionNext(req, res);
    reply(res, 404, { errorMessage: `no route ${req.method} ${path}` });
  }

  private register(req: IncomingMessage, res: ServerResponse, body: string): void {
    const name = req.headers['lambda-extension-name'];
    const events = (JSON.parse(body || '{}') as { events?: string[] }).events ?? [];
    const refusal = !name
      ? 'Lambda-Extension-Name is required'
      : this.initDone
        ? 'registration is only possible during init'
        : events.includes('SHUTDOWN')
          ? 'internal extensions cannot register for SHUTDOWN'
          : undefined;
    if (refusal) {
      this.mark('register-refused', { detail: refusal });
      reply(res, 403, { errorType: 'Extension.Forbidden', errorMessage: refusal });
      return;
    }
    const id = randomUUID();
    this.extensions.set(id, { name: String(name) });
    this.mark('register', { detail: `${name} ${JSON.stringify(events)}` });
    res.setHeader('Lambda-Extension-Identifier', id);
    reply(res, 200, { functionName: FUNCTION_NAME, functionVersion: '$LATEST', handler: 'index.handler' });
  }

  private extensionNext(req: IncomingMessage, res: ServerResponse): void {
    const id = String(req.headers['lambda-extension-identifier'] ?? '');
    const extension = this.extensions.get(id);
    if (!extension) {
      reply(res, 403, { errorType: 'Extension.Forbidden', errorMessage: 'unknown extension' });
      return;
    }
    this.mark('ext-next', { requestId: this.current?.requestId, detail: extension.name });
    extension.waiting = res;
    this.current?.extensionsNext.add(id);
    this.settle();
  }

  private runtimeNext(res: ServerResponse): void {
    this.mark('runtime-next', { requestId: this.current?.posted ? this.current.requestId : undefined });
    this.initDone = true;
    this.runtimeWaiting = res;
    if (this.current?.posted) this.current.runtimeNext = true;
    this.settle();
  }

  private posted(
    res: ServerResponse,
    requestId: string,
    kind: 'response' | 'error',
    body: string,
    req: IncomingMessage,
  ): void {
    const errorType = req.headers['lambda-runtime-function-error-type'];
    this.mark(`${kind}-posted`, { requestId, ...(errorType ? { detail: String(errorType) } : {}) });
    const active = this.current;
    if (!active || active.requestId !== requestId || active.posted) {
      reply(res, 400, { errorType: 'InvalidRequestID', errorMessage: 'not the current invocation' });
      return;
    }
    active.posted = true;
    active.respond({
      requestId,
      outcome: kind,
      body,
      ...(kind === 'error' && errorType ? { errorType: String(errorType) } : {}),
    });
    reply(res, 202, { status: 'OK' });
  }

  /** Ends the current invocation when everyone is done with it, then dispatches the next one. */
  private settle(): void {
    const active = this.current;
    if (
      active?.posted &&
      active.runtimeNext &&
      [...this.extensions.keys()].every((id) => active.extensionsNext.has(id))
    ) {
      this.mark('invocation-ended', { requestId: active.requestId });
      this.current = undefined;
      active.end();
    }
    this.dispatch();
  }

  private dispatch(): void {
    if (this.current || !this.runtimeWaiting) return;
    if (![...this.extensions.values()].every((e) => e.waiting)) return;
    const next = this.queue.shift();
    if (!next) return;
    this.current = next;
    const deadlineMs = Date.now() + this.timeoutMs;
    const functionArn = `arn:aws:lambda:local:000000000000:function:${FUNCTION_NAME}`;
    const traceId = `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)};Sampled=0`;
    this.mark('invoke', { requestId: next.requestId });
    const runtime = this.runtimeWaiting;
    this.runtimeWaiting = undefined;
    runtime.setHeader('Lambda-Runtime-Aws-Request-Id', next.requestId);
    runtime.setHeader('Lambda-Runtime-Deadline-Ms', String(deadlineMs));
    runtime.setHeader('Lambda-Runtime-Invoked-Function-Arn', functionArn);
    runtime.setHeader('Lambda-Runtime-Trace-Id', traceId);
    reply(runtime, 200, next.event);
    for (const extension of this.extensions.values()) {
      const waiting = extension.waiting!;
      extension.waiting = undefined;
      reply(waiting, 200, {
        eventType: 'INVOKE',
        deadlineMs,
        requestId: next.requestId,
        invokedFunctionArn: functionArn,
        tracing: { type: 'X-Amzn-Trace-Id', value: traceId },
      });
    }
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
