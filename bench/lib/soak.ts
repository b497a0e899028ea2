/**
 * The soak (`npm run soak`, bench/soak.ts): `npm start` in a process of its own (loopback, data in
 * memory), under a fixed mix of Segment batches, decides and tracks at a fixed concurrency for N
 * minutes. Every 30 s: throughput, p50/p99, errors and the server's resident memory. At the end:
 * the totals, and three checks that set the exit code: no errors, resident memory grown by at most
 * 10 % after the warm-up (half the run, at most 2 minutes: V8's heap, the JIT and the bounded
 * caches settle in about that), and every Optimizely event accounted for. Memory is read every 5 s
 * by the server itself after a full garbage collection (`GET /local/memory`), and compared median to
 * median, the second half of the measured time against the first: a leak moves the median. Events: the events the accepted answers stand for (bench/lib/traffic.ts) against those the local
 * event sink received plus those waiting in the outbox for redelivery. The last line is
 * `SOAK_RESULT {json}` for scripts (the test that runs a one-minute soak reads it).
 */

import { freePort } from '../../scripts/local/dynamodb-local';
import {
  LOCAL_API_KEY,
  LOCAL_OPTIMIZELY_PREFIX,
  LOCAL_SEGMENT_SECRET,
  LOCAL_SEGMENT_TOKEN,
} from '../../scripts/local/local-stack';
import { DynamoDbEventOutbox } from '../../src/events/dynamodb/outbox';
import { eventCount } from '../../src/events/event-batch';
import { createDynamoDbClient } from '../../src/platform/dynamodb/client';
import { startServerProcess } from '../http-load';
import { median } from './stats';
import {
  eventBase,
  type Outcome,
  person,
  personEvents,
  postDecide,
  postSegment,
  postTrack,
  runAtConcurrency,
  summarize,
  type TrafficTarget,
} from './traffic';

const PEOPLE = 300;
const STRANGERS = 500;
const MAX_RSS_GROWTH = 0.1;
const RSS_SAMPLE_MS = 5_000;

export interface SoakResult {
  seconds: number;
  requests: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  byKind: Record<string, { requests: number; errors: number }>;
  /** Median RSS of the first and the second half of the time after the warm-up, and the growth between. */
  rssMb: { firstHalf: number; secondHalf: number; growth: number; warmUpSeconds: number };
  /** The same for the live heap (`heapUsed` after a full GC). */
  heapMb: { firstHalf: number; secondHalf: number };
  events: { produced: number; delivered: number; waiting: number; missing: number; extra: number };
  ok: boolean;
}

/**
 * The server's resident memory and live heap in MB, read by the server itself after a full garbage
 * collection (`GET /local/memory`; the soak starts it with `--expose-gc`): RSS read at a random
 * moment saws by a fifth between collections, and V8 keeps a heap it grew for a burst.
 */
async function serverMemory(url: string): Promise<{ rssMb: number; heapMb: number }> {
  const response = await fetch(`${url}/local/memory`);
  const usage = (await response.json()) as { rss: number; heapUsed: number };
  return { rssMb: usage.rss / 2 ** 20, heapMb: usage.heapUsed / 2 ** 20 };
}

/** One request of the fixed mix: of every 10, one Segment batch, six decides, three tracks. */
function mix(target: TrafficTarget, run: string, base: number) {
  let round = 0;
  let nextPerson = 0;
  return (i: number): Promise<Outcome> => {
    const slot = i % 10;
    if (slot === 0) {
      // Five people's next events (identify, track, group each): 15 events.
      const first = nextPerson;
      nextPerson = (nextPerson + 5) % PEOPLE;
      if (nextPerson === 0) round++;
      const events = Array.from({ length: 5 }, (_, k) => personEvents(run, first + k, round, base)).flat();
      return postSegment(target, events);
    }
    const who = person(run, (i * 7) % PEOPLE);
    if (slot <= 3) return postDecide(target, { userId: who.userId });
    if (slot <= 5) return postDecide(target, { anonymousId: who.anonymousId });
    if (slot === 6) return postDecide(target, { userId: `${run}-stranger-${i % STRANGERS}` });
    return postTrack(target, who.userId, i % 500);
  };
}

async function sinkEvents(url: string): Promise<number> {
  const response = await fetch(`${url}${LOCAL_OPTIMIZELY_PREFIX}/stats`);
  return ((await response.json()) as { events: number }).events;
}

async function outboxEvents(endpoint: string): Promise<number> {
  const client = createDynamoDbClient({ endpoint });
  try {
    const outbox = new DynamoDbEventOutbox({ client, tableName: 'crosswalk-local' });
    let events = 0;
    for await (const page of outbox.due(Number.MAX_SAFE_INTEGER, 100))
      for (const stored of page) events += eventCount(stored.batch);
    return events;
  } finally {
    client.destroy();
  }
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);

export async function soak(options: {
  minutes: number;
  concurrency: number;
  reportSeconds: number;
  log?: (line: string) => void;
}): Promise<SoakResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const [port, dynamoPort] = [await freePort(), await freePort()];
  // npm start's local defaults: loopback only, whatever the shell points elsewhere.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DYNAMODB_LOCAL_PORT: String(dynamoPort),
    LOG_LEVEL: 'warn',
  };
  for (const name of ['OPTIMIZELY_EVENT_ENDPOINT', 'OPTIMIZELY_DATAFILE_URL_TEMPLATE', 'DYNAMODB_ENDPOINT'])
    delete env[name];
  const server = await startServerProcess(port, env, ['--in-memory'], ['--expose-gc']);
  const target: TrafficTarget = {
    url: server.url,
    apiKey: LOCAL_API_KEY,
    segmentToken: LOCAL_SEGMENT_TOKEN,
    segmentSecret: LOCAL_SEGMENT_SECRET,
  };
  const run = `soak${Date.now().toString(36)}`;
  const base = eventBase();
  log(
    `soak: ${options.minutes} min at concurrency ${options.concurrency} against ${server.url} (pid ${server.pid})`,
  );
  try {
    const outcomes: Outcome[] = [];
    let window: Outcome[] = [];
    const started = Date.now();
    const ends = started + options.minutes * 60_000;
    const rss: { at: number; mb: number; heapMb: number }[] = [];
    const warmUpSeconds = Math.min(120, Math.max(options.reportSeconds, (options.minutes * 60) / 2));
    const sample = async () => {
      const memory = await serverMemory(server.url);
      rss.push({ at: (Date.now() - started) / 1000, mb: memory.rssMb, heapMb: memory.heapMb });
      return memory;
    };
    const report = async () => {
      const s = summarize(window);
      const errors = window.filter((o) => o.status !== 200).length;
      window = [];
      const memory = await sample();
      log(
        `[${fmt((Date.now() - started) / 1000)} s] ${s.requests} requests (${fmt(s.requests / options.reportSeconds, 1)}/s), p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, errors ${errors}, server RSS ${fmt(memory.rssMb, 1)} MB (heap ${fmt(memory.heapMb, 1)} MB)`,
      );
    };
    const timer = setInterval(() => void report().catch(() => undefined), options.reportSeconds * 1000);
    const sampler = setInterval(() => void sample().catch(() => undefined), RSS_SAMPLE_MS);
    await runAtConcurrency(
      options.concurrency,
      mix(target, run, base),
      () => Date.now() >= ends,
      (o) => {
        outcomes.push(o);
        window.push(o);
      },
    );
    clearInterval(timer);
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;

    // Every event the accepted answers stand for, at the sink or waiting in the outbox.
    const produced = outcomes.reduce((sum, o) => sum + o.events, 0);
    const endpoint = `http://127.0.0.1:${dynamoPort}`;
    let delivered = 0;
    let waiting = 0;
    for (const until = Date.now() + 30_000; ; ) {
      delivered = await sinkEvents(server.url);
      waiting = await outboxEvents(endpoint);
      if (delivered + waiting >= produced || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const accounted = delivered + waiting;

    const total = summarize(outcomes);
    const byKind: SoakResult['byKind'] = {};
    for (const o of outcomes) {
      const k = byKind[o.kind] ?? { requests: 0, errors: 0 };
      byKind[o.kind] = k;
      k.requests++;
      if (o.status !== 200) k.errors++;
    }
    const errors = outcomes.filter((o) => o.status !== 200).length;
    const middle = (warmUpSeconds + seconds) / 2;
    const measured = rss.filter((sample) => sample.at >= warmUpSeconds);
    const halves = [measured.filter((x) => x.at < middle), measured.filter((x) => x.at >= middle)];
    const [first, last] = halves.map((half) => median(half.map((x) => x.mb))) as [number, number];
    const [heapFirst, heapLast] = halves.map((half) => median(half.map((x) => x.heapMb))) as [number, number];
    const result: SoakResult = {
      seconds: Math.round(seconds),
      requests: total.requests,
      throughput: Math.round(total.requests / seconds),
      p50Ms: total.p50Ms,
      p99Ms: total.p99Ms,
      errors,
      byKind,
      rssMb: {
        firstHalf: Math.round(first),
        secondHalf: Math.round(last),
        growth: (last - first) / first,
        warmUpSeconds: Math.round(warmUpSeconds),
      },
      heapMb: { firstHalf: Math.round(heapFirst), secondHalf: Math.round(heapLast) },
      events: {
        produced,
        delivered,
        waiting,
        missing: Math.max(0, produced - accounted),
        extra: Math.max(0, accounted - produced),
      },
      ok: false,
    };
    result.ok = errors === 0 && result.rssMb.growth <= MAX_RSS_GROWTH && result.events.missing === 0;
    const kinds = Object.entries(byKind)
      .map(([kind, k]) => `${kind} ${k.requests} (${k.errors} errors)`)
      .join(', ');
    log(
      `\nsoak: ${result.requests} requests in ${result.seconds} s (${result.throughput}/s): ${kinds}; p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`,
    );
    log(`  errors:  ${errors} ${errors === 0 ? '✓' : '✗'}`);
    log(
      `  memory:  server RSS after a full GC (median of 5 s samples) ${fmt(first, 1)} MB from ${fmt(warmUpSeconds)} s (the warm-up's end) to ${fmt(middle)} s → ${fmt(last, 1)} MB from there to the end (${result.rssMb.growth >= 0 ? '+' : ''}${fmt(result.rssMb.growth * 100, 1)} %, at most ${MAX_RSS_GROWTH * 100} %; live heap ${fmt(heapFirst, 1)} → ${fmt(heapLast, 1)} MB) ${result.rssMb.growth <= MAX_RSS_GROWTH ? '✓' : '✗'}`,
    );
    log(
      `  events:  ${produced} produced, ${delivered} at the sink + ${waiting} waiting in the outbox; ${result.events.missing} missing, ${result.events.extra} extra (duplicates) ${result.events.missing === 0 ? '✓' : '✗'}`,
    );
    log(`SOAK_RESULT ${JSON.stringify(result)}`);
    return result;
  } finally {
    await server.stop();
  }
}
