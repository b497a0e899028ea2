/**
 * Answer first, flush after, on the Lambda path: bundled handlers run in a child process under a
 * JavaScript client of the Runtime API (test/support/lambda-runtime-client.ts) against the loopback
 * fake Runtime and Extensions API (test/support/fake-lambda-runtime.ts), which records a timeline.
 *
 * Why our own runtime loop rather than AWS's runtime interface client: aws-lambda-ric@4 ships no
 * prebuilt native client and compiles curl and aws-lambda-cpp on install, taking `npm ci` from about
 * 40 s to about 5 minutes on every CI run. The loop is a faithful client of the documented protocol
 * (import the handler module at init, GET invocation/next, invoke, POST response or error, repeat;
 * see its header), and the fake enforces the Extensions API's rules (registration only during init;
 * an invocation ends only when the runtime and every extension have asked for their next event).
 *
 * Assertions are on the order of recorded calls and on counts, never on durations; SHOW_TIMELINE=1
 * prints the timelines. The fake shows the protocol, not AWS's timing.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { redeliveryDependencies } from '../../../functions/event-redelivery/dependencies';
import { createRedeliveryHandler } from '../../../functions/event-redelivery/handler';
import { apiGatewayEvent } from '../../../scripts/local/api-gateway-event';
import { lambdaContext } from '../../../scripts/local/lambda-context';
import { eventUuids } from '../../../src/events/event-batch';
import { createAfterResponse } from '../../../src/platform/lambda/after-response';
import { createObservability } from '../../../src/platform/observability/logger';
import { SAMPLE_DATAFILE_PATH } from '../../support/agent';
import { testConfig } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { FakeLambdaRuntime } from '../../support/fake-lambda-runtime';
import { type LambdaEnvironment, startLambdaEnvironment } from '../../support/lambda-environment';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';
import { outboxUuids } from '../../support/outbox';

// Hooks and tests alike: bundling and child processes take seconds on a busy machine.
jest.setTimeout(60_000);

/** The event endpoints answer this late: long enough that answering first shows in the order. */
const EVENT_ENDPOINT_DELAY_MS = 300;

/** Asserts that the entries of `kinds` for `requestId` were recorded exactly in this order. */
function expectOrder(runtime: FakeLambdaRuntime, requestId: string, kinds: string[]): void {
  const seen = kinds
    .map((kind) => ({ kind, index: runtime.indexOf(kind, requestId) }))
    .filter(({ index }) => index >= 0)
    .sort((a, b) => a.index - b.index)
    .map(({ kind }) => kind);
  expect(seen).toEqual(kinds);
}

/** Polls until `predicate` holds; the test's own timeout bounds it. */
async function waitFor(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((done) => setTimeout(done, 20));
}

async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
}

describe('after-response in a bundled handler under the runtime client', () => {
  let runtime: FakeLambdaRuntime | undefined;
  let endpoint: { server: Server; url: string } | undefined;
  let lambda: LambdaEnvironment | undefined;

  beforeAll(async () => {
    runtime = await FakeLambdaRuntime.start();
    const fake = runtime;
    // A stand-in for the event API that records into the runtime's timeline.
    const server = createServer((req, res) => {
      const requestId = String(req.headers['x-request-id']);
      fake.mark('event-received', { requestId });
      req.resume();
      setTimeout(() => {
        if (req.url === '/drop') {
          fake.mark('event-dropped', { requestId });
          req.socket.destroy();
          return;
        }
        fake.mark('event-answered', { requestId });
        res.writeHead(204).end();
      }, EVENT_ENDPOINT_DELAY_MS);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    endpoint = { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
    lambda = await startLambdaEnvironment({
      entry: 'test/fixtures/lambda/after-response-handler.ts',
      runtime,
    });
  });

  afterAll(async () => {
    if (process.env.SHOW_TIMELINE) console.log(runtime?.format());
    // Tolerates a beforeAll that failed part-way: each step runs only if its resource exists.
    await lambda?.stop();
    await runtime?.stop();
    await closeServer(endpoint?.server);
  });

  const invoke = (action: string) => lambda!.invoke({ action, endpoint: endpoint!.url });

  it('registers during init, before the runtime asks for its first invocation', async () => {
    const { invocation } = await invoke('deliver');

    const fake = runtime!;
    expect(fake.timeline.filter((e) => e.kind === 'register')).toHaveLength(1);
    expect(fake.indexOf('register-refused')).toBe(-1);
    expect(fake.indexOf('register')).toBeLessThan(fake.indexOf('runtime-next'));
    expect(fake.indexOf('ext-next')).toBeLessThan(fake.indexOf('invoke', invocation.requestId));
  });

  it('posts the response before the deferred POST completes and ends the invocation only after it', async () => {
    const { invocation, result } = await invoke('deliver');

    expect(result.outcome).toBe('response');
    expect(JSON.parse(result.body)).toEqual({ statusCode: 200, body: JSON.stringify({ mode: 'extension' }) });
    expectOrder(runtime!, invocation.requestId, [
      'invoke',
      'response-posted',
      'event-answered',
      'ext-next',
      'invocation-ended',
    ]);
    expectOrder(runtime!, invocation.requestId, ['invoke', 'event-received', 'event-answered']);
  });

  it('does the same on the next invocation of the same process', async () => {
    const { invocation, result } = await invoke('deliver');

    expect(result.outcome).toBe('response');
    expectOrder(runtime!, invocation.requestId, [
      'invoke',
      'response-posted',
      'event-answered',
      'ext-next',
      'invocation-ended',
    ]);
  });

  it('ends the invocation of a handler that throws only after the work it deferred', async () => {
    const { invocation, result } = await invoke('throw');

    expect(result.outcome).toBe('error');
    expect(JSON.parse(result.body)).toMatchObject({
      errorType: 'Error',
      errorMessage: 'handler failed after deferring its events',
    });
    expectOrder(runtime!, invocation.requestId, [
      'invoke',
      'error-posted',
      'event-answered',
      'ext-next',
      'invocation-ended',
    ]);
  });

  it('logs deferred work that rejects, ends the invocation after it, and keeps serving', async () => {
    const failed = await invoke('fail-delivery');

    expect(failed.result.outcome).toBe('response');
    expectOrder(runtime!, failed.invocation.requestId, [
      'invoke',
      'response-posted',
      'event-dropped',
      'ext-next',
      'invocation-ended',
    ]);
    await waitFor(() => lambda!.output().includes('after-response: deferred work failed'));

    const next = await invoke('deliver');
    expect(next.result.outcome).toBe('response');
    expect(lambda!.output()).not.toMatch(/the runtime process exited/);
  });
});

describe('the decide function (functions/agent-api/lambda.ts) under the runtime client', () => {
  let runtime: FakeLambdaRuntime | undefined;
  let lambda: LambdaEnvironment | undefined;
  let table: TestTable | undefined;
  let optimizely: TestOptimizely | undefined;
  const run = randomUUID().slice(0, 8);

  beforeAll(async () => {
    runtime = await FakeLambdaRuntime.start();
    const fake = runtime;
    [table, optimizely] = await Promise.all([
      createTestTable('lambda-decide'),
      startTestOptimizely(undefined, {
        onBatch: (batch) => fake.mark('event-answered', { detail: eventUuids(batch as never).join(',') }),
      }),
    ]);
    optimizely.optimizely.eventDelayMs = EVENT_ENDPOINT_DELAY_MS;
    lambda = await startLambdaEnvironment({
      entry: 'functions/agent-api/lambda.ts',
      runtime,
      environment: {
        TABLE_NAME: table.tableName,
        DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT ?? '',
        AWS_REGION: 'local',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        LOG_LEVEL: 'warn',
        CROSSWALK_METRICS: 'off',
        EXPERIMENT_ID_SECRET: 'lambda-path-experiment-id-secret',
        OPTIMIZELY_SDK_KEY: 'local-sample',
        OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE_PATH,
        OPTIMIZELY_EVENT_ENDPOINT: optimizely.eventEndpoint,
        OPTIMIZELY_DATAFILE_URL_TEMPLATE: optimizely.datafileUrlTemplate,
      },
    });
  });

  afterAll(async () => {
    if (process.env.SHOW_TIMELINE) console.log(runtime?.format());
    try {
      optimizely?.assertNoPersonalData();
    } finally {
      await lambda?.stop();
      await runtime?.stop();
      await optimizely?.close();
      await table?.drop();
    }
  });

  const request = (path: string, routeKey: string, body: unknown): APIGatewayProxyEventV2 =>
    apiGatewayEvent(
      {
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      routeKey,
    );

  it('stores a decide’s decision event before answering, sends nothing, and ends the invocation with its answer', async () => {
    const before = optimizely!.optimizely.received.visitors;
    const stored = (await outboxUuids(table!)).length;
    const { invocation, result } = await lambda!.invoke(
      request('/v1/decide?keys=search_ranking', 'POST /v1/decide', { userId: `lambda-${run}` }),
    );

    expect(result.outcome).toBe('response');
    expect(JSON.parse(result.body)).toMatchObject({ statusCode: 200 });
    expect(JSON.parse(JSON.parse(result.body).body)).toMatchObject({ flagKey: 'search_ranking' });
    expectOrder(runtime!, invocation.requestId, ['invoke', 'response-posted', 'invocation-ended']);
    // The relay (the table's stream) sends it; nothing in this invocation does.
    expect(optimizely!.optimizely.received.visitors).toBe(before);
    expect(await outboxUuids(table!)).toHaveLength(stored + 1);
  });

  it('ends an invocation that dispatched nothing (DISABLE_DECISION_EVENT) with no event sent', async () => {
    const before = optimizely!.optimizely.received.batches;
    const { invocation, result } = await lambda!.invoke(
      request('/v1/decide?keys=search_ranking', 'POST /v1/decide', {
        userId: `lambda-${run}`,
        decideOptions: ['DISABLE_DECISION_EVENT'],
      }),
    );

    expect(result.outcome).toBe('response');
    expectOrder(runtime!, invocation.requestId, ['invoke', 'response-posted', 'invocation-ended']);
    expect(optimizely!.optimizely.received.batches).toBe(before);
  });

  it('answers a track once its conversion is stored, and sends nothing itself', async () => {
    const before = optimizely!.optimizely.received.visitors;
    const stored = (await outboxUuids(table!)).length;
    const { invocation, result } = await lambda!.invoke(
      request('/v1/track?eventKey=purchase', 'POST /v1/track', {
        userId: `lambda-${run}`,
        eventTags: { revenue: 100 },
      }),
    );

    expect(JSON.parse(result.body)).toMatchObject({ statusCode: 200 });
    expectOrder(runtime!, invocation.requestId, ['invoke', 'response-posted', 'invocation-ended']);
    expect(optimizely!.optimizely.received.visitors).toBe(before);
    expect(await outboxUuids(table!)).toHaveLength(stored + 1);
  });

  it('keeps a conversion whose process is killed right after the answer, for the redelivery function', async () => {
    // The event API is down (and answers at once), so nothing reaches it before the kill.
    optimizely!.optimizely.eventStatus = 503;
    optimizely!.optimizely.eventDelayMs = 0;
    const before = optimizely!.optimizely.received.visitors;
    const earlier = new Set(await outboxUuids(table!));
    const invocation = lambda!.dispatch(
      request('/v1/track?eventKey=purchase', 'POST /v1/track', { userId: `killed-${run}`, eventTags: {} }),
    );
    const result = await invocation.response;
    // Killed between the answer and the end of the invocation: whatever was only in memory is gone.
    await lambda!.stop();
    lambda = undefined;

    expect(JSON.parse(result.body)).toMatchObject({ statusCode: 200 });
    const all = await outboxUuids(table!);
    const stored = all.filter((uuid) => !earlier.has(uuid));
    expect(stored).toHaveLength(1);

    optimizely!.optimizely.eventStatus = 200;
    const config = testConfig({
      TABLE_NAME: table!.tableName,
      OPTIMIZELY_EVENT_ENDPOINT: optimizely!.eventEndpoint,
    });
    const redeliver = createRedeliveryHandler({
      ...redeliveryDependencies(config),
      // Due now: the stored copy waits EVENT_RETRY_BASE_MS (a minute) before its first redelivery.
      clock: () => Date.now() + 2 * config.EVENT_RETRY_MAX_MS,
    });
    const report = await redeliver({}, lambdaContext('event-redelivery', 50_000));

    // Everything stored by this file's invocations (no relay runs here), the killed one included.
    expect(report).toMatchObject({ redelivered: all.length, stillUndelivered: 0, dropped: 0 });
    expect(optimizely!.optimizely.received.visitors).toBe(before + all.length);
    const arrived = optimizely!.optimizely
      .visitors()
      .flatMap((v) => v.snapshots.flatMap((s) => s.events.map((e) => e.uuid)));
    expect(arrived.filter((uuid) => uuid === stored[0])).toHaveLength(1);
    expect(await outboxUuids(table!)).toEqual([]);
  });
});

/** The runtime's side of the protocol, played by hand where no runtime client is needed. */
function runtimeCall(address: string, method: string, path: string, body?: string): Promise<string> {
  return new Promise((done, fail) => {
    const req = request(`http://${address}${path}`, { method, agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      res.on('end', () => done(String(res.headers['lambda-runtime-aws-request-id'] ?? text)));
    });
    req.on('error', fail);
    req.end(body);
  });
}

describe('after-response against the fake Extensions API, runtime played by hand', () => {
  let runtime: FakeLambdaRuntime | undefined;
  const logged: string[] = [];
  const { logger } = createObservability({
    level: 'warn',
    metrics: 'off',
    write: (_level, line) => logged.push(String((JSON.parse(line) as { message: string }).message)),
  });

  beforeAll(async () => {
    runtime = await FakeLambdaRuntime.start({ timeoutMs: 1_000 });
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('lets the invocation end before its deadline when the handler never reports finished', async () => {
    const fake = runtime!;
    const afterResponse = createAfterResponse({ runtimeApi: fake.address, marginMs: 200, logger });
    expect(await afterResponse.ready).toBe('extension');
    const invocation = fake.invoke({});
    const requestId = await runtimeCall(fake.address, 'GET', '/2018-06-01/runtime/invocation/next');
    await runtimeCall(fake.address, 'POST', `/2018-06-01/runtime/invocation/${requestId}/response`, '{}');
    // Left pending: the runtime waits for its next invocation, as a runtime client does.
    runtimeCall(fake.address, 'GET', '/2018-06-01/runtime/invocation/next').catch(() => undefined);

    await invocation.ended;

    expect(logged).toContain('after-response: handler did not report finished before the deadline');
    expectOrder(fake, requestId, ['invoke', 'response-posted', 'ext-next', 'invocation-ended']);
  });

  it('reports unavailable when registration comes after init, so callers deliver before answering', async () => {
    const fake = runtime!;
    const afterResponse = createAfterResponse({ runtimeApi: fake.address, logger });

    expect(await afterResponse.ready).toBe('unavailable');
    expect(afterResponse.mode).toBe('unavailable');
    expect(fake.indexOf('register-refused')).toBeGreaterThan(fake.indexOf('runtime-next'));
    expect(logged).toContain(
      'after-response: extension registration failed; events are delivered before answering',
    );
  });
});
