/**
 * Event delivery (docs/events.md): what answering before delivering buys, what the flush costs in
 * billed time, and that no event is lost.
 *
 * - decide_event_delay_ratio: decide p50 through `npm start`'s server (a separate process) whose
 *   event API answers after 100 ms, ÷ p50 through a second server whose event API answers at once;
 *   the two are measured side by side in alternating rounds, one request at a time.
 * - flush_overhead_ms and decide_loss_window_ms: the bundled decide function under the runtime
 *   client and the fake Runtime/Extensions API; per invocation, the time from the response posted
 *   to the end of the invocation (what Lambda bills after the answer), with a loopback event API
 *   answering at once (floor: invocations that sent no event, so only the extension's round trip),
 *   and with one answering after 100 ms (decide's loss window: its events exist only in memory
 *   until then).
 * - events_redelivered, events_lost, events_duplicated: an outage of the event API (503) while
 *   decides and tracks run through the local server, then recovery with the redelivery loop;
 *   produced events are recorded at the dispatcher and compared by uuid with what arrived.
 * - events_lost_on_kill_track / _decide: the same traffic with the process "killed" after every
 *   answer (the local server drops deferred work), then redelivery.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { agentApiDependencies } from '../functions/agent-api/dependencies';
import { createAgentApiHandler } from '../functions/agent-api/handler';
import { redeliveryDependencies } from '../functions/event-redelivery/dependencies';
import { createRedeliveryHandler, createRelayHandler } from '../functions/event-redelivery/handler';
import { freePort } from '../scripts/local/dynamodb-local';
import { lambdaContext } from '../scripts/local/lambda-context';
import { type LocalOptimizelyServer, startLocalOptimizely } from '../scripts/local/local-optimizely';
import { startOutboxStream } from '../scripts/local/outbox-stream';
import { startRedeliveryLoop } from '../scripts/local/redelivery-loop';
import { startLocalServer } from '../scripts/local/server';
import { eventUuids } from '../src/events/event-batch';
import type { LogEvent } from '../src/optimizely/sdk';
import { loadConfig } from '../src/platform/config/env';
import { outboundFetch } from '../src/platform/http/outbound';
import { RELAY_BATCH_SIZE, RELAY_BATCHING_WINDOW_MS } from '../src/platform/routes';
import { startLambdaEnvironment } from '../test/support/lambda-environment';
import type { BenchPerson } from './fixtures/segment-events';
import { startServerProcess } from './http-load';
import type { Report } from './lib/report';
import { median, percentile } from './lib/stats';

export interface EventsBenchOptions {
  /** The bench's environment (table, DynamoDB Local, datafile, API key…). */
  env: Record<string, string>;
  people: readonly BenchPerson[];
  flagKey: string;
  sdkKey: string;
  apiKey: string;
  report: Report;
}

const SLOW_EVENT_API_MS = 100;

function decideBody(person: BenchPerson): string {
  return JSON.stringify({ identifiers: { anonymous_id: person.anonymousIds[0] }, userAttributes: {} });
}

async function timedPost(url: string, body: string, headers: Record<string, string>): Promise<number> {
  const start = performance.now();
  const response = await outboundFetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  await response.text();
  const elapsed = performance.now() - start;
  if (response.status !== 200) throw new Error(`decide answered ${response.status}`);
  return elapsed;
}

/** decide p50 with a 100 ms event API vs an instant one, through two npm start processes. */
async function delayRatio(options: EventsBenchOptions, datafiles: Map<string, string>): Promise<void> {
  const fastApi = await startLocalOptimizely({ datafiles, keep: 10 });
  const slowApi = await startLocalOptimizely({ datafiles, keep: 10 });
  slowApi.optimizely.eventDelayMs = SLOW_EVENT_API_MS;
  const servers: { stop(): Promise<void> }[] = [];
  try {
    const start = async (api: LocalOptimizelyServer) => {
      const server = await startServerProcess(await freePort(), {
        ...process.env,
        ...options.env,
        OPTIMIZELY_EVENT_ENDPOINT: api.eventEndpoint,
        OPTIMIZELY_DATAFILE_URL_TEMPLATE: api.datafileUrlTemplate,
      });
      servers.push(server);
      return server;
    };
    const fast = await start(fastApi);
    const slow = await start(slowApi);
    const bodies = options.people.filter((_, i) => i % 11 === 0).map(decideBody);
    const headers = { 'x-api-key': options.apiKey };
    const path = `/v1/decide?keys=${options.flagKey}`;
    let next = 0;
    const round = async (url: string, count: number, samples: number[] | null) => {
      for (let i = 0; i < count; i++) {
        const ms = await timedPost(url, bodies[next++ % bodies.length] as string, headers);
        samples?.push(ms);
      }
    };
    await round(`${fast.url}${path}`, 200, null);
    await round(`${slow.url}${path}`, 200, null);
    const fastSamples: number[] = [];
    const slowSamples: number[] = [];
    for (let r = 0; r < 10; r++) {
      // Alternating order per round, so neither always runs on a machine warmed by the other.
      const pair = [
        () => round(`${fast.url}${path}`, 60, fastSamples),
        () => round(`${slow.url}${path}`, 60, slowSamples),
      ];
      if (r % 2 === 1) pair.reverse();
      for (const run of pair) await run();
    }
    const fastP50 = median(fastSamples);
    const slowP50 = median(slowSamples);
    console.log(
      `  decide p50 ${slowP50.toFixed(2)} ms with a ${SLOW_EVENT_API_MS} ms event API, ${fastP50.toFixed(2)} ms with an instant one ` +
        `(p90 ${percentile(slowSamples, 90).toFixed(2)} vs ${percentile(fastSamples, 90).toFixed(2)} ms; ${slowApi.optimizely.received.visitors} events reached the slow API)`,
    );
    options.report.add('decide_event_delay_ratio', {
      value: slowP50 / fastP50,
      unit: '×',
      target: `≤ 1.2 (p50 ${slowP50.toFixed(2)} ms with a ${SLOW_EVENT_API_MS} ms event API ÷ ${fastP50.toFixed(2)} ms with an instant one)`,
      check: (x) => x.value <= 1.2,
    });
  } finally {
    for (const server of servers) await server.stop().catch(() => undefined);
    await fastApi.close();
    await slowApi.close();
  }
}

/** Billed time after the answer, from the fake runtime's timeline. */
async function flushOverhead(options: EventsBenchOptions, datafiles: Map<string, string>): Promise<void> {
  const api = await startLocalOptimizely({ datafiles, keep: 10 });
  const lambda = await startLambdaEnvironment({
    entry: 'functions/agent-api/lambda.ts',
    environment: {
      ...options.env,
      LOG_LEVEL: 'error',
      OPTIMIZELY_EVENT_ENDPOINT: api.eventEndpoint,
      OPTIMIZELY_DATAFILE_URL_TEMPLATE: api.datafileUrlTemplate,
    },
  });
  try {
    const people = options.people.filter((_, i) => i % 13 === 0).slice(0, 150);
    const event = (person: BenchPerson, withEvent: boolean) => ({
      version: '2.0',
      routeKey: 'POST /v1/decide',
      rawPath: '/v1/decide',
      rawQueryString: `keys=${options.flagKey}`,
      headers: { 'content-type': 'application/json', 'x-api-key': options.apiKey },
      queryStringParameters: { keys: options.flagKey },
      requestContext: { http: { method: 'POST', path: '/v1/decide' }, requestId: 'bench' },
      isBase64Encoded: false,
      body: JSON.stringify({
        identifiers: { anonymous_id: person.anonymousIds[0] },
        ...(withEvent ? {} : { decideOptions: ['DISABLE_DECISION_EVENT'] }),
      }),
    });
    const timed = async (person: BenchPerson, withEvent: boolean) => {
      const { invocation, result } = await lambda.invoke(event(person, withEvent));
      if (!/"statusCode":200/.test(result.body)) throw new Error(`decide answered ${result.body}`);
      const at = (kind: string) =>
        lambda.runtime.timeline.find((e) => e.kind === kind && e.requestId === invocation.requestId)?.at ??
        Number.NaN;
      const invoked = at('invoke');
      const posted = at('response-posted');
      const ended = at('invocation-ended');
      return { handlerMs: posted - invoked, billedMs: ended - invoked, afterMs: ended - posted };
    };
    const afterAnswer = async (person: BenchPerson, withEvent: boolean) =>
      (await timed(person, withEvent)).afterMs;
    // Warm: the first invocations load the project and fill the caches.
    for (const person of people.slice(0, 20)) await afterAnswer(person, true);
    const withEvents: number[] = [];
    const without: number[] = [];
    for (const person of people) {
      withEvents.push(await afterAnswer(person, true));
      without.push(await afterAnswer(person, false));
    }
    options.report.add('flush_overhead_ms', {
      value: median(withEvents),
      unit: 'ms',
      floor: median(without),
      target:
        'reported: billed after the answer, loopback event API (floor: no event, extension round trip only)',
    });
    api.optimizely.eventDelayMs = SLOW_EVENT_API_MS;
    const slow: { handlerMs: number; billedMs: number; afterMs: number }[] = [];
    for (const person of people.slice(0, 60)) slow.push(await timed(person, true));
    const handlerMs = median(slow.map((s) => s.handlerMs));
    const billedMs = median(slow.map((s) => s.billedMs));
    console.log(
      `  with a ${SLOW_EVENT_API_MS} ms event API: handler ${handlerMs.toFixed(2)} ms, billed ${billedMs.toFixed(2)} ms, after the answer ${median(slow.map((s) => s.afterMs)).toFixed(2)} ms`,
    );
    options.report.add('decide_billed_ms', {
      value: billedMs,
      unit: 'ms',
      floor: handlerMs,
      target: `≤ 2 × the handler's own time + 5 ms (invocation start to its end, ${SLOW_EVENT_API_MS} ms event API; floor: start to response posted)`,
      check: (x) => x.value <= 2 * handlerMs + 5,
    });
    options.report.add('decide_loss_window_ms', {
      value: median(slow.map((s) => s.afterMs)),
      unit: 'ms',
      target: `reported: answer to end of invocation with a ${SLOW_EVENT_API_MS} ms event API (events are stored before the answer: nothing only in memory)`,
    });
  } finally {
    await lambda.stop();
    await api.close();
  }
}

/** An in-process local Crosswalk (as npm start runs it) whose produced events are recorded. */
async function eventApp(
  options: EventsBenchOptions,
  api: LocalOptimizelyServer,
  dropDeferredWork: boolean,
  relayWindowMs = 50,
) {
  const config = loadConfig({
    ...process.env,
    ...options.env,
    OPTIMIZELY_EVENT_ENDPOINT: api.eventEndpoint,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: api.datafileUrlTemplate,
    // Compressed time, as in test/integration/events/outage.test.ts.
    EVENT_RETRY_BASE_MS: '200',
    EVENT_RETRY_MAX_MS: '800',
    EVENT_REDELIVERY_INTERVAL_MS: '100',
  });
  const decide = agentApiDependencies(config);
  const produced = { decisions: new Set<string>(), conversions: new Set<string>() };
  const dispatcher = decide.decisions.dispatcher;
  const dispatch = dispatcher.dispatchEvent.bind(dispatcher);
  dispatcher.dispatchEvent = (event: LogEvent) => {
    for (const uuid of eventUuids(event.params))
      (event.params.visitors[0]?.snapshots[0]?.decisions?.length
        ? produced.decisions
        : produced.conversions
      ).add(uuid);
    return dispatch(event);
  };
  const redelivery = redeliveryDependencies(config);
  // The relay on the table's stream, as npm start runs it (the stack's batch size and window).
  const stream = await startOutboxStream({
    endpoint: config.DYNAMODB_ENDPOINT!,
    tableName: config.TABLE_NAME,
    handler: createRelayHandler(redelivery),
    batchSize: RELAY_BATCH_SIZE,
    windowMs: relayWindowMs,
    pollMs: 100,
  });
  const server = await startLocalServer({
    port: 0,
    handlers: { 'agent-api': createAgentApiHandler(decide) },
    afterResponses: { 'agent-api': decide.afterResponse },
    dropDeferredWork,
    background: [stream],
  });
  const redeliver = createRedeliveryHandler(redelivery);
  return {
    config,
    server,
    produced,
    redeliver,
    stream,
    close: async () => {
      await server.close();
      await stream.stop();
    },
  };
}

function arrivals(api: LocalOptimizelyServer): Map<string, number> {
  const counts = new Map<string, number>();
  for (const batch of api.optimizely.batches)
    for (const uuid of eventUuids(batch as never)) counts.set(uuid, (counts.get(uuid) ?? 0) + 1);
  return counts;
}

/** `items` starting at `start` (modulo its length), wrapping round to the beginning. */
function rotate<T>(items: readonly T[], start: number): T[] {
  const at = items.length === 0 ? 0 : start % items.length;
  return [...items.slice(at), ...items.slice(0, at)];
}

async function traffic(
  url: string,
  options: EventsBenchOptions,
  people: readonly BenchPerson[],
  until: () => boolean,
) {
  const headers = { 'content-type': 'application/json', 'x-api-key': options.apiKey };
  let statuses = 0;
  let non200 = 0;
  for (let i = 0; until(); i++) {
    const person = people[i % people.length] as BenchPerson;
    for (const [path, body] of [
      [`/v1/decide?keys=${options.flagKey}`, decideBody(person)],
      ['/v1/track?eventKey=purchase', JSON.stringify({ userId: person.userId, eventTags: { revenue: i } })],
    ] as const) {
      const response = await outboundFetch(`${url}${path}`, { method: 'POST', headers, body });
      await response.text();
      statuses++;
      if (response.status !== 200) non200++;
    }
  }
  return { statuses, non200 };
}

async function waitUntil(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Outage then recovery, and a process killed after each answer. */
async function noLoss(options: EventsBenchOptions, datafiles: Map<string, string>): Promise<void> {
  const people = options.people.filter((_, i) => i % 17 === 0);
  const api = await startLocalOptimizely({ datafiles, keep: 1_000_000 });
  try {
    // Outage: 503 for 5 s of decides and tracks (compressed time, see eventApp), then recovery.
    const outage = await eventApp(options, api, false);
    const loop = startRedeliveryLoop({
      handler: outage.redeliver,
      intervalMs: outage.config.EVENT_REDELIVERY_INTERVAL_MS,
    });
    api.optimizely.eventStatus = 503;
    const ends = Date.now() + 5_000;
    const load = await traffic(outage.server.url, options, people, () => Date.now() < ends);
    await outage.server.idle();
    api.optimizely.eventStatus = 200;
    const produced = new Set([...outage.produced.decisions, ...outage.produced.conversions]);
    await waitUntil(() => [...produced].every((uuid) => arrivals(api).has(uuid)), 60_000);
    await loop.stop();
    await outage.close();
    const counts = arrivals(api);
    const lost = [...produced].filter((uuid) => !counts.has(uuid)).length;
    const duplicated = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
    console.log(
      `  outage: ${load.statuses} requests (${load.non200} not 200), ${produced.size} events produced, ` +
        `${loop.totals.redelivered} redelivered after recovery, ${lost} lost, ${duplicated} duplicated`,
    );
    options.report.add('events_redelivered', {
      value: loop.totals.redelivered,
      unit: 'events',
      target: `reported: of ${produced.size} produced during a 5 s outage (${load.statuses} requests, ${load.non200} not 200)`,
      check: () => load.non200 === 0,
    });
    options.report.add('events_lost', {
      value: lost,
      unit: 'events',
      target: '0',
      check: (x) => x.value === 0,
    });
    options.report.add('events_duplicated', {
      value: duplicated,
      unit: 'events',
      target: '0 (Optimizely would discard them by uuid)',
      check: (x) => x.value === 0,
    });

    // Killed after every answer: deferred work dropped; then the redelivery function alone.
    api.optimizely.batches.length = 0;
    const killed = await eventApp(options, api, true);
    let n = 0;
    await traffic(killed.server.url, options, people, () => n++ < 100);
    await killed.server.idle();
    const conversions = killed.produced.conversions;
    const everything = [...conversions, ...killed.produced.decisions];
    for (let i = 0; i < 100 && !everything.every((uuid) => arrivals(api).has(uuid)); i++) {
      await killed.redeliver({}, lambdaContext('event-redelivery', 50_000));
      await new Promise((r) => setTimeout(r, 100));
    }
    await killed.close();
    const after = arrivals(api);
    const lostTrack = [...conversions].filter((uuid) => !after.has(uuid)).length;
    const lostDecide = [...killed.produced.decisions].filter((uuid) => !after.has(uuid)).length;
    options.report.add('events_lost_on_kill_track', {
      value: lostTrack,
      unit: 'events',
      target: `0 of ${conversions.size} (stored before the answer)`,
      check: (x) => x.value === 0,
    });
    options.report.add('events_lost_on_kill_decide', {
      value: lostDecide,
      unit: 'events',
      target: `0 of ${killed.produced.decisions.size} (stored before the answer)`,
      check: (x) => x.value === 0,
    });
  } finally {
    await api.close();
  }
}

/**
 * event_batch_visitors: decides and tracks from 8 concurrent clients for 5 s through the local
 * server, the relay on the stream with the stack's batch size and batching window; mean visitors
 * per POST that reached the event API (the floor: 1, a POST per request as before).
 */
async function batchVisitors(options: EventsBenchOptions, datafiles: Map<string, string>): Promise<void> {
  const api = await startLocalOptimizely({ datafiles, keep: 1_000_000 });
  const app = await eventApp(options, api, false, RELAY_BATCHING_WINDOW_MS);
  try {
    const people = options.people.filter((_, i) => i % 5 === 0);
    const ends = Date.now() + 5_000;
    const loads = await Promise.all(
      Array.from({ length: 8 }, (_, c) =>
        // Each client starts 50 people further on (wrapping on a small graph, BENCH_PEOPLE=300).
        traffic(app.server.url, options, rotate(people, c * 50), () => Date.now() < ends),
      ),
    );
    await app.server.idle();
    const requests = loads.reduce((sum, l) => sum + l.statuses, 0);
    const posts = api.optimizely.batches.length;
    const visitors = api.optimizely.batches.reduce(
      (sum, b) => sum + (b as { visitors: unknown[] }).visitors.length,
      0,
    );
    console.log(
      `  under load: ${requests} requests, ${visitors} visitors in ${posts} POSTs to the event API (${app.stream.totals.invocations} relay invocations)`,
    );
    options.report.add('event_batch_visitors', {
      value: posts === 0 ? 0 : visitors / posts,
      unit: 'visitors',
      floor: 1,
      target: `reported: mean visitors per POST under load (${requests} decides and tracks, 8 clients, 5 s; relay window ${RELAY_BATCHING_WINDOW_MS} ms)`,
      check: () => loads.every((l) => l.non200 === 0),
    });
  } finally {
    await app.close();
    await api.close();
  }
}

export async function benchEvents(options: EventsBenchOptions): Promise<void> {
  const datafile = options.env.OPTIMIZELY_DATAFILE as string;
  const datafiles = new Map([[options.sdkKey, readFileSync(resolve(datafile), 'utf8')]]);
  await delayRatio(options, datafiles);
  await flushOverhead(options, datafiles);
  await noLoss(options, datafiles);
  await batchVisitors(options, datafiles);
}
